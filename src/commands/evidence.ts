/**
 * `egress-verify evidence verify DIR [--key pub.pem]`: what an auditor runs on a bundle they
 * were handed. Exit 0 only when every file matches, nothing was added or removed, and (with
 * --key) the signature holds; every problem is one line naming its file.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, UsageError } from '../errors.js';
import { verifyingKey } from '../evidence/keys.js';
import { verifyBundle } from '../evidence/manifest.js';
import { readInput } from '../input.js';
import { countsText } from '../report/report.js';
import { readReport } from './report.js';

export function evidenceVerifyCommand(dir: string, opts: { key?: string }): number {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`evidence bundle ${dir} is not a directory`);
  const key = opts.key === undefined ? undefined : verifyingKey(readInput(opts.key, 'key'), opts.key);
  const v = verifyBundle(dir, key);
  const out: string[] = [`evidence bundle ${dir}`];
  if (v.manifest) {
    const m = v.manifest;
    out.push(`  run ${m.runId ?? '(unknown)'}, sealed ${m.createdAt}, ${m.files.length} files, chain ${m.chain}`);
    if (m.previous) out.push(`  follows the bundle with chain ${m.previous}`);
  }
  out.push(...v.problems.map((p) => `  FAILED ${p}`), ...v.notes.map((n) => `  ${n}`));
  if (v.ok) {
    // Only a bundle that verified is worth summarising: its report is the one that was sealed.
    // One this version cannot read (a newer schema) is still intact: say so, do not fail.
    try {
      const report = readReport(join(dir, 'report.json'));
      out.push(`  report: ${report.verdict.toUpperCase()}, ${countsText(report.summary)}`);
    } catch (err) {
      out.push(`  report: not summarised (${(err as Error).message})`);
    }
  }
  out.push(v.ok ? 'verified' : `NOT verified: ${v.problems.length} problem(s)`);
  process.stdout.write(`${out.join('\n')}\n`);
  return v.ok ? ExitCode.pass : ExitCode.fail;
}
