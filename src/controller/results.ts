/**
 * A probe's results, read back through the API: its log (one JSON line per check), else its
 * termination message, else an error result per check that says why there is neither.
 */
import type { CheckResult, Observation, ProbePlan } from '../../probes/base/model.js';
import { errorResults, type PodRef, resultsFromLog, resultsFromTerminationMessage } from '../../probes/wire.js';
import { log } from '../base/log.js';
import { apiStatus } from '../kube/client.js';
import { summarize } from '../report/report.js';
import type { PodProgress } from './pod-progress.js';
import type { ProbeKube } from './probe-kube.js';

export async function collect(
  kube: ProbeKube,
  namespace: string,
  plan: ProbePlan,
  where: PodRef,
  progress: PodProgress,
  container: string,
  direct?: ReadonlyMap<string, Observation>,
  /** The log, when it was read as the pod ended (run.ts). */
  logRead?: Promise<string | undefined>,
): Promise<CheckResult[]> {
  if (progress.state !== 'done') return errorResults(plan, where, `probe pod ${describe(progress)}`);
  const logText = await (logRead ?? readProbeLog(kube, namespace, where.pod, container));
  const read = direct === undefined ? {} : { direct };
  if (logText !== undefined && logText.trim() !== '') return resultsFromLog(logText, plan, where, read);
  if (progress.terminationMessage !== undefined) return resultsFromTerminationMessage(progress.terminationMessage, plan, where, read);
  return errorResults(plan, where, `probe pod exited ${progress.exitCode} with neither a log nor a termination message`);
}

/** A probe's log; undefined when it cannot be read, and the termination message must do. */
export async function readProbeLog(kube: ProbeKube, namespace: string, pod: string, container: string): Promise<string | undefined> {
  try {
    return await kube.core.readNamespacedPodLog({ name: pod, namespace, container });
  } catch (err) {
    log.warn({ pod, err: apiStatus(err) ?? String(err) }, 'probe log unavailable; using the termination message');
    return undefined;
  }
}

/** How a probe ended, for the report's pod list and its error results. */
export function describe(p: PodProgress): string {
  switch (p.state) {
    case 'done':
      return `exited ${p.exitCode}`;
    case 'stuck':
      return `did not run: ${p.reason}`;
    case 'running':
      return 'still running at the deadline';
    case 'pending':
      return `never started${p.reason ? `: ${p.reason}` : ''}`;
  }
}

/** "verdicts: 8 pass, 2 fail": what one probe pod found, for the progress lines. */
export function verdictLine(results: readonly CheckResult[]): string {
  const counts = summarize(results);
  const parts = (['pass', 'fail', 'inconclusive', 'error', 'skip'] as const)
    .filter((v) => (counts[v] ?? 0) > 0)
    .map((v) => `${counts[v]} ${v}`);
  return `verdicts: ${parts.join(', ') || 'none'}`;
}
