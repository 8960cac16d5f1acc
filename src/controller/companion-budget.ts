/**
 * The run's companion budget (`--companion-concurrency`): tunnels all probe pods together may
 * hold open through the companion at once. The pods of one wave share it evenly (each plan
 * carries its share as `companionSlots`); when there are more pods than tunnels, the pods start
 * in waves, so that even one tunnel each stays within the bound.
 */

export interface CompanionShare {
  /** Waves of probe pods, one after another. */
  waves: number;
  /** Probe pods in a wave (the last may have fewer). */
  perWave: number;
  /** Tunnels each probe pod may hold at once. */
  slots: number;
}

export function shareCompanion(pods: number, budget: number): CompanionShare {
  if (!Number.isInteger(budget) || budget < 1)
    throw new RangeError(`companion concurrency must be a whole number of at least 1, not ${budget}`);
  const count = Math.max(1, pods);
  const waves = Math.ceil(count / budget);
  const perWave = Math.ceil(count / waves);
  return { waves, perWave, slots: Math.floor(budget / perWave) };
}

/** `items` cut into the share's waves, in order. */
export function inWaves<T>(items: readonly T[], share: CompanionShare): T[][] {
  const waves: T[][] = [];
  for (let i = 0; i < items.length; i += share.perWave) waves.push(items.slice(i, i + share.perWave));
  return waves;
}
