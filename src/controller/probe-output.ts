/**
 * Reads a probe pod's output back (pure): its log of JSON lines, or, when the log is lost, the
 * termination message. Anything unreadable becomes an error result per check, never a pass.
 */
import type { Check, CheckResult, ProbePlan } from '../../probes/model.js';
import { describeTarget } from '../../probes/runner.js';

export interface PodRef {
  pod: string;
  node?: string;
  workload?: string;
}

const placed = (where: PodRef): Pick<CheckResult, 'pod' | 'node' | 'workload'> => ({
  pod: where.pod,
  ...(where.node ? { node: where.node } : {}),
  ...(where.workload ? { workload: where.workload } : {}),
});

export function errorResult(check: Check, where: PodRef, reason: string): CheckResult {
  return {
    id: check.id,
    kind: check.kind,
    expect: check.expect,
    target: describeTarget(check),
    verdict: 'error',
    reason,
    observation: { outcome: 'probe-error', class: 'error', durationMs: 0, detail: reason },
    ...placed(where),
  };
}

export function errorResults(plan: ProbePlan, where: PodRef, reason: string): CheckResult[] {
  return plan.checks.map((c) => errorResult(c, where, reason));
}

function isResult(value: unknown): value is CheckResult & { type: 'result' } {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const o = v.observation as Record<string, unknown> | undefined;
  return (
    v.type === 'result' &&
    typeof v.id === 'string' &&
    ['pass', 'fail', 'inconclusive', 'error'].includes(v.verdict as string) &&
    typeof o === 'object' &&
    o !== null &&
    typeof o.outcome === 'string' &&
    typeof o.durationMs === 'number'
  );
}

export function resultsFromLog(log: string, plan: ProbePlan, where: PodRef): CheckResult[] {
  const lines = log.split('\n').filter((l) => l.trim() !== '');
  const byId = new Map<string, CheckResult>();
  let summary = false;
  for (const [i, line] of lines.entries()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return errorResults(plan, where, `probe output unreadable: line ${i + 1} of ${where.pod}'s log is not JSON`);
    }
    if ((parsed as { type?: string }).type === 'summary') {
      summary = true;
      continue;
    }
    if (!isResult(parsed)) return errorResults(plan, where, `probe output unreadable: line ${i + 1} of ${where.pod}'s log is not a result`);
    const { type: _type, ...result } = parsed;
    byId.set(result.id, { ...result, ...placed(where) });
  }
  if (!summary) return errorResults(plan, where, `probe output incomplete: ${where.pod}'s log has no summary line`);
  // A check the plan asked for and the log does not mention is an error, not a silent gap.
  return plan.checks.map((c) => byId.get(c.id) ?? errorResult(c, where, `no result for ${c.id} in ${where.pod}'s log`));
}
