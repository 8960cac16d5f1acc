/**
 * The control pod's plan: every must-fail check that dials a literal endpoint, sent again from a
 * pod that the workload's egress policies do not select, to the same address, port and
 * protocol. What it reaches is up and open from the cluster, so the twin's "blocked" there is the
 * policy's doing (the `proven-direct` control of verdict.ts). This is the only control UDP and
 * internal targets (metadata, node, API server) can have without the companion's help.
 */

import type { Check, ProbePlan } from './base/model.js';
import { kindOf } from './kinds.js';

/** A must-fail check that a control pod can repeat: the check kinds' registry says which dial the same place from any pod. */
export function directlyControllable(check: Check): boolean {
  return check.expect === 'blocked' && kindOf(check).direct(check);
}

/** The same checks, expected reachable (so retried within their deadline), without controls. */
export function controlPlan(plan: ProbePlan): ProbePlan {
  const checks = plan.checks.filter(directlyControllable).map((check): Check => {
    const { control: _companionControl, controlFrom: _direct, ...rest } = check;
    return { ...rest, expect: 'reachable' };
  });
  return { version: 1, checks };
}
