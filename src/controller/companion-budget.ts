/**
 * The run's companion budget (`--companion-concurrency`): tunnels all probe pods together may
 * hold open through the companion at once. The pods alive at once share it evenly (each plan
 * carries its share as `companionSlots`); when there are more pods than tunnels, a pod starts
 * only when one before it has ended, so that even one tunnel each stays within the bound.
 */

import { serviceNamed } from '../kube/service-name.js';

export interface CompanionShare {
  /** Probe pods alive at once: an ended pod's lane goes to the next. */
  lanes: number;
  /** Tunnels each probe pod may hold at once. */
  slots: number;
  /** How many pods each lane runs, at most, one after another. */
  rounds: number;
}

export function shareCompanion(pods: number, budget: number): CompanionShare {
  if (!Number.isInteger(budget) || budget < 1)
    throw new RangeError(`companion concurrency must be a whole number of at least 1, not ${budget}`);
  const count = Math.max(1, pods);
  const lanes = Math.min(count, budget);
  return { lanes, slots: Math.floor(budget / lanes), rounds: Math.ceil(count / lanes) };
}

/** `items` cut into waves of one pod per lane, in order (--in-pod, whose probes are not pods of the run). */
export function inWaves<T>(items: readonly T[], share: CompanionShare): T[][] {
  const waves: T[][] = [];
  for (let i = 0; i < items.length; i += share.lanes) waves.push(items.slice(i, i + share.lanes));
  return waves;
}

/**
 * The namespaces of a run, in groups that share no companion: the groups run at once, the
 * namespaces of one group one after another, each with the whole budget. Namespaces share a
 * companion when any of their companion URLs names the same Service (or the same host and port).
 */
export function companionGroups<T extends { namespace: string; companions: readonly string[] }>(runs: readonly T[]): T[][] {
  const groups: { keys: Set<string>; runs: T[] }[] = [];
  for (const run of runs) {
    const keys = new Set(run.companions.map((url) => companionKey(url, run.namespace)));
    const joined = groups.filter((g) => [...keys].some((k) => g.keys.has(k)));
    const merged = { keys: new Set([...keys, ...joined.flatMap((g) => [...g.keys])]), runs: [...joined.flatMap((g) => g.runs), run] };
    for (const g of joined) groups.splice(groups.indexOf(g), 1);
    groups.push(merged);
  }
  return groups.map((g) => g.runs);
}

function companionKey(url: string, namespace: string): string {
  const u = new URL(url);
  const service = serviceNamed(u.hostname, namespace);
  return `${service ? `${service.name}.${service.namespace}.svc` : u.hostname}:${u.port}`;
}
