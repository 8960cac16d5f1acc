/**
 * Twin classes: workloads whose probe pod would be the same pod are probed once, and the one
 * probe's results are reported under each of them. Pure.
 *
 * The key is everything about a probe pod that can change what its traffic meets: the
 * WorkloadTarget as the probe would carry it (namespace, every template label, since a policy of
 * any kind may select on any of them, service account, proxy environment, and whatever else the
 * target grows: pod network fields, node placement) and the plan it runs. Only the names that
 * identify the workload itself (description, object reference, the selector of its live pods)
 * are left out. Two workloads differing in anything else are never grouped.
 */
import type { CheckResult, ProbePlan } from '../../probes/base/model.js';
import type { WorkloadTarget } from './target.js';

export interface PlannedWorkload {
  target: WorkloadTarget;
  plan: ProbePlan;
}

/** JSON with object keys sorted at every depth, so equal values give equal text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function twinKey(w: PlannedWorkload): string {
  const { description: _description, ref: _ref, liveSelector: _liveSelector, ...twin } = w.target;
  return canonical({ twin, plan: w.plan });
}

export interface TwinClass<W extends PlannedWorkload> {
  /** The workload whose probe pod stands for the class. */
  representative: W;
  /** Every workload of the class, the representative first. */
  members: W[];
}

/** Classes in the order of their first member; with grouping off, one class per workload. */
export function twinClasses<W extends PlannedWorkload>(workloads: readonly W[], grouping: boolean): TwinClass<W>[] {
  const byKey = new Map<string, TwinClass<W>>();
  workloads.forEach((w, i) => {
    const key = grouping ? twinKey(w) : String(i);
    const known = byKey.get(key);
    if (known) known.members.push(w);
    else byKey.set(key, { representative: w, members: [w] });
  });
  return [...byKey.values()];
}

/**
 * The representatives' results, copied under every member of their class (grouped by member,
 * so each workload's section is contiguous), and each probe pod's row naming whom it stood for.
 */
export function fanOut<W extends PlannedWorkload>(
  classes: readonly TwinClass<W>[],
  results: readonly CheckResult[],
  pods: readonly { name: string; node?: string; outcome: string }[],
): { results: CheckResult[]; pods: { name: string; node?: string; outcome: string; standsFor?: string[] }[] } {
  const out: CheckResult[] = [];
  const standsFor = new Map<string, string[]>();
  for (const c of classes) {
    const own = results.filter((r) => r.workload === c.representative.target.description);
    const names = c.members.map((m) => m.target.description);
    for (const pod of new Set(own.map((r) => r.pod))) if (pod) standsFor.set(pod, names);
    for (const name of names) out.push(...own.map((r) => (name === r.workload ? r : { ...r, workload: name })));
  }
  return {
    results: out,
    pods: pods.map((p) => {
      const names = standsFor.get(p.name);
      return names && names.length > 1 ? { ...p, standsFor: names } : p;
    }),
  };
}
