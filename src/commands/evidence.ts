/**
 * `egress-verify evidence verify DIR [--key pub.pem] [--previous DIR]`: what an auditor runs on a
 * bundle they were handed. Exit 0 only when every file matches, nothing was added or removed, and
 * a signed bundle's signature holds against --key; 3 when it is intact and signed but no key was
 * given (who made it was not checked); every problem is one line naming its file.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, UsageError } from '../base/errors.js';
import { readInput } from '../base/input.js';
import { printable } from '../base/terminal.js';
import { verifyingKey } from '../evidence/keys.js';
import { type Verification, verifyBundle } from '../evidence/manifest.js';
import { readReport } from '../report/read.js';
import { countsText } from '../report/report.js';

export interface EvidenceVerifyOptions {
  key?: string;
  /** The bundle the auditor accepted last: this one must follow it (a replay does not). */
  previous?: string;
}

const requireBundleDir = (dir: string, what: string): void => {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${what} ${printable(dir)} is not a directory`);
};

export function evidenceVerifyCommand(dir: string, opts: EvidenceVerifyOptions): number {
  requireBundleDir(dir, 'evidence bundle');
  if (opts.previous !== undefined) requireBundleDir(opts.previous, '--previous');
  const key = opts.key === undefined ? undefined : verifyingKey(readInput(opts.key, 'key'), opts.key);
  const v = verifyBundle(dir, key);
  const out: string[] = [`evidence bundle ${dir}`];
  if (v.manifest) {
    const m = v.manifest;
    out.push(`  run ${m.runId ?? '(unknown)'}, sealed ${m.createdAt}, ${m.files.length} files, chain ${m.chain}`);
    if (m.previous) out.push(`  follows the bundle with chain ${m.previous}`);
  }
  if (opts.previous !== undefined) v.problems.push(...chainProblems(v, verifyBundle(opts.previous, key), opts.previous));
  const ok = v.problems.length === 0;
  out.push(...v.problems.map((p) => `  FAILED ${p}`), ...v.notes.map((n) => `  ${n}`));
  if (ok) {
    // Only a bundle that verified is worth summarising: its report is the one that was sealed.
    // One this version cannot read (a newer schema) is still intact: say so, do not fail.
    try {
      const report = readReport(join(dir, 'report.json'));
      out.push(`  report: ${report.verdict.toUpperCase()}, ${countsText(report.summary)}`);
    } catch (err) {
      out.push(`  report: not summarised (${(err as Error).message})`);
    }
  }
  const signerUnchecked = ok && key === undefined && v.manifest?.signedBy !== undefined;
  out.push(
    !ok
      ? `NOT verified: ${v.problems.length} problem(s)`
      : signerUnchecked
        ? 'intact, signer NOT verified: give --key with the public key you obtained from its owner'
        : 'verified',
  );
  // Names, run ids and reasons come from the bundle: a control character must not forge a line.
  process.stdout.write(`${out.map(printable).join('\n')}\n`);
  if (!ok) return ExitCode.fail;
  return signerUnchecked ? ExitCode.inconclusive : ExitCode.pass;
}

/** This bundle must name the previous one's chain as its predecessor, and be sealed after it. */
function chainProblems(v: Verification, previous: Verification, dir: string): string[] {
  if (!previous.ok || previous.manifest === undefined)
    return [`--previous ${dir}: does not verify (${previous.problems[0] ?? 'no manifest'})`];
  const m = v.manifest;
  if (m === undefined) return [];
  if (m.previous !== previous.manifest.chain)
    return [
      `manifest.json: does not follow ${dir} (it names ${m.previous ? `chain ${m.previous}` : 'no previous bundle'}, ${dir} is chain ${previous.manifest.chain}): a replayed or out-of-order bundle`,
    ];
  if (!(m.createdAt > previous.manifest.createdAt))
    return [`manifest.json: sealed ${m.createdAt}, not after ${dir} (${previous.manifest.createdAt})`];
  return [];
}
