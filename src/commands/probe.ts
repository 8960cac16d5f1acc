/**
 * `egress-verify probe`: the program inside a probe pod. Reads a plan, runs it, prints results.
 */

import { writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { allowedPaths, awaitAllowedPath, pathAsker } from '../../probes/allowed-path.js';
import type { ProbePlan } from '../../probes/base/model.js';
import { PLAN_ENV, parsePlan } from '../../probes/plan.js';
import { runPlan } from '../../probes/runner.js';
import { renderCompanionDone, renderTerminationMessage } from '../../probes/wire.js';
import { UsageError } from '../base/errors.js';
import { readInput } from '../base/input.js';
import { log } from '../base/log.js';
import { parseOutputs, summarizeOnTerminal, writeOutputs } from '../report/output.js';
import { buildReport, exitCodeFor } from '../report/report.js';

export interface ProbeOptions {
  plan?: string;
  catalogue?: string;
  extend: string[];
  companion?: string;
  companionCa?: string;
  printPlan: boolean;
  output: string[];
  tapVersion?: string;
  terminationLog?: string;
  settleMs: string;
  pathWaitMs: string;
  ports?: string;
}

export async function loadPlan(opts: ProbeOptions): Promise<ProbePlan> {
  if (opts.plan !== undefined) return parsePlan(readInput(opts.plan, 'plan'), opts.plan === '-' ? 'stdin' : opts.plan);
  const fromEnv = process.env[PLAN_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return parsePlan(fromEnv, `$${PLAN_ENV}`);
  if (opts.companion === undefined) {
    throw new UsageError(
      `no plan: give --plan FILE (or - for stdin), set $${PLAN_ENV}, or give --companion URL to expand the target catalogue`,
    );
  }
  // Loaded only here: compiling the catalogue's schema costs a probe pod, which is given its
  // plan, a fifth of a second of CPU and tens of MiB.
  const [{ readCompanionCa }, { loadCatalogue, planFor }] = await Promise.all([
    import('../plan/companion-ca.js'),
    import('../plan/local-plan.js'),
  ]);
  const caPem = opts.companionCa === undefined ? undefined : readCompanionCa(opts.companionCa);
  return planFor(loadCatalogue(opts), opts.companion, caPem);
}

function milliseconds(value: string, flag: string): number {
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 0 || ms > 60_000) throw new UsageError(`${flag} must be 0-60000`);
  return ms;
}

export async function probeCommand(opts: ProbeOptions): Promise<number> {
  const outputs = parseOutputs(opts.output.length > 0 ? opts.output : ['jsonl'], opts.tapVersion);
  const plan = await loadPlan(opts);
  if (opts.printPlan) {
    process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
    return 0;
  }
  const settleMs = milliseconds(opts.settleMs, '--settle-ms');
  const pathWaitMs = milliseconds(opts.pathWaitMs, '--path-wait-ms');
  // Policy agents program a new pod's rules asynchronously after it gets its address; a dial
  // in that window would report a bypass the steady-state policy does not have. Counted from
  // the process's start (performance.now()'s origin), which comes after the address: on a busy
  // node, loading the probe took seconds of the settle and held the pod's companion lane.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.ceil(settleMs - performance.now()))));
  // What answered in the wait and falls silent later is a window the path watch looks for (runner.ts).
  // One asker for the wait and the watch: a companion's address, once resolved, holds for both.
  const ask = pathAsker();
  let answered = new Set<string>();
  if (pathWaitMs > 0) {
    // Info, not warn: the log API hands the controller stderr within stdout, the wire. A path
    // still silent is reported by the checks that dial it.
    const wait = await awaitAllowedPath(allowedPaths(plan.checks), pathWaitMs, ask);
    log.info({ waitedMs: wait.waitedMs, silent: wait.silent }, 'waited for the allowed path');
    answered = wait.answered;
  }
  // undici compiles its HTTP parser (llhttp, WebAssembly) at the first request; V8's optimizing
  // compile of it held ~35 MiB for a tenth of a second, the probe pod's memory peak. Baseline
  // (Liftoff) code needs a few MiB and parses a probe's handful of responses as well.
  setFlagsFromString('--liftoff-only');
  const startedAt = new Date();
  log.info({ checks: plan.checks.length }, 'probe started');
  // On the wire (JSON lines on stdout) the controller learns at once that the pod's tunnels are closed.
  const wire = outputs.some((o) => o.format === 'jsonl' && o.file === undefined);
  const results = await runPlan(plan, undefined, wire ? () => process.stdout.write(renderCompanionDone()) : undefined, { ask, answered });
  const report = buildReport('probe', results, startedAt, new Date());
  writeOutputs(outputs, report);
  summarizeOnTerminal(outputs, report);
  if (opts.terminationLog !== undefined) {
    try {
      writeFileSync(opts.terminationLog, renderTerminationMessage(report.results));
    } catch (err) {
      log.warn({ path: opts.terminationLog, err: String(err) }, 'could not write the termination message');
    }
  }
  return exitCodeFor(report.verdict);
}
