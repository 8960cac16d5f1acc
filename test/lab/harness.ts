/** What the lab suites share: the built CLI (run inside the workload namespace as in a probe pod), a lab and a scratch directory. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CheckResult, ProbePlan } from '../../probes/base/model.js';
import type { Report } from '../../src/report/report.js';
import { type ExecOptions, type Lab, type LabOptions, startLab } from './lab.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** dist/src/cli.js, built first when missing. */
export function builtCli(): string {
  const cli = join(root, 'dist/src/cli.js');
  if (!existsSync(cli)) execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  return cli;
}

/** A started lab and a scratch directory, both removed at the suite's teardown. */
export async function labSuite(
  t: { teardown: (fn: () => unknown) => void },
  prefix: string,
  opts: LabOptions = {},
): Promise<{ lab: Lab; scratch: string }> {
  const lab = await startLab(opts);
  t.teardown(() => lab.close());
  const scratch = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  return { lab, scratch };
}

export interface LabProbe {
  /** The probe's exit code; null when it was killed at the timeout. */
  code: number | null;
  stdout: string;
  report: Report;
  results: CheckResult[];
  /** Milliseconds from start to exit, as seen from outside the probe. */
  wallMs: number;
}

/** Node alone has taken 20 s to start on the shared 2-core machine at load 25. */
const PROBE_TIMEOUT_MS = 90_000;
let probeRuns = 0;

/**
 * `probe --plan` run by the built CLI inside the lab (the workload's namespace unless `opts.role`
 * says otherwise), as a probe pod runs it; `outputs` are extra `-o` targets besides the JSON
 * report it reads back.
 */
export async function probeInLab(
  lab: Lab,
  scratch: string,
  plan: ProbePlan,
  opts: Pick<ExecOptions, 'env' | 'role'> & { outputs?: string[] } = {},
): Promise<LabProbe> {
  const n = ++probeRuns;
  const planFile = join(scratch, `plan-${n}.json`);
  const reportFile = join(scratch, `report-${n}.json`);
  writeFileSync(planFile, JSON.stringify(plan));
  const outputs = (opts.outputs ?? []).flatMap((o) => ['-o', o]);
  const started = performance.now();
  const run = await lab.exec(['node', builtCli(), 'probe', '--plan', planFile, ...outputs, '-o', `json=${reportFile}`], {
    ...(opts.env && { env: opts.env }),
    ...(opts.role && { role: opts.role }),
    timeoutMs: PROBE_TIMEOUT_MS,
  });
  const wallMs = performance.now() - started;
  if (!existsSync(reportFile)) throw new Error(`probe wrote no report (exit ${run.code}): ${run.stderr.trim()}`);
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
  return { code: run.code, stdout: run.stdout, report, results: report.results, wallMs };
}
