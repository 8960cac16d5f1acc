/**
 * The companion is shared by every probe pod of a run, and a proxy that is offered more tunnels
 * than it can serve answers late: every proxied check turns inconclusive. The controller gives
 * each probe pod a share of the run's budget (`ProbePlan.companionSlots`); here the probe keeps
 * to it. A check's deadline starts when it gets its slot, so waiting never eats into it.
 */

import type { Check, ProbePlan } from './base/model.js';
import { worstCaseMs } from './checks/deadline.js';
import { kindOf } from './kinds.js';
import { redialMs } from './path-watch.js';

/** A counting semaphore; waiters are served in the order they came. */
export class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`companion slots must be a whole number of at least 1, not ${size}`);
    this.free = size;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

/**
 * The longest a plan can take in the probe: the checks that need no slot run at once, those
 * through the companion in FIFO order over the plan's slots, each as long as its deadline and
 * grace, the sweeps after both, and then the second dials of blocks the path watch doubted
 * (path-watch.ts). The controller sizes the pod's deadline from it.
 */
export function planDurationMs(plan: ProbePlan): number {
  const worst = worstCaseMs;
  const first = plan.checks.filter((c) => c.kind !== 'tcp-sweep');
  const proxied = first.filter(throughCompanion);
  const free = first.filter((c) => !throughCompanion(c));
  const lanes = new Array<number>(Math.max(1, Math.min(plan.companionSlots ?? proxied.length, proxied.length))).fill(0);
  for (const check of proxied) {
    const lane = lanes.indexOf(Math.min(...lanes));
    lanes[lane] = (lanes[lane] ?? 0) + worst(check);
  }
  const sweeps = plan.checks.filter((c) => c.kind === 'tcp-sweep').map(worst);
  return Math.max(0, ...free.map(worst), ...lanes) + Math.max(0, ...sweeps) + redialMs(plan.checks);
}

/** Whether the check holds a tunnel through the companion while it runs, in one of the pod's slots. */
export function throughCompanion(check: Check): boolean {
  return kindOf(check).companion(check) === 'slot';
}

/** Whether the check opens any tunnel through the companion, in a slot or within its own bound. */
export function opensTunnels(check: Check): boolean {
  return kindOf(check).companion(check) !== 'none';
}

/**
 * The plan with its share of the companion: `slots` tunnels at once, the sweeps' tunnels
 * included (they run after the other checks, so they get the same share).
 */
export function withCompanionSlots(plan: ProbePlan, slots: number): ProbePlan {
  return {
    ...plan,
    companionSlots: slots,
    checks: plan.checks.map((c) => (c.kind === 'tcp-sweep' ? { ...c, companionConcurrency: Math.min(c.companionConcurrency, slots) } : c)),
  };
}
