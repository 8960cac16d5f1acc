/**
 * IPv6 checks are dialled only from a pod that has an IPv6 address of its own. Without one the
 * kernel cannot send the packet at all: "blocked" would say nothing about the policy, so such a
 * check is skipped and says why, never passed.
 */
import { isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Check, ProbePlan } from './base/model.js';
import { endpointOf, kindOf } from './kinds.js';

/** Whether the pod itself sends this check's packets to an IPv6 address (not through the companion). */
export function sendsIpv6(check: Check): boolean {
  const kind = kindOf(check);
  // Through the companion, the companion sends the packets.
  if (kind.companion(check) === 'slot') return false;
  const host = endpointOf(check)?.host;
  return (host !== undefined && isIPv6(host)) || kind.literals(check).some(([, value]) => isIPv6(value));
}

/**
 * The checks a pod without IPv6 cannot run: those that send IPv6 themselves, and the control-only
 * checks that stand for nothing else (a tunnel to an IPv6 resolver proves nothing to a v4 pod).
 */
export function ipv6OnlyChecks(plan: ProbePlan): Set<string> {
  const ids = new Set(plan.checks.filter(sendsIpv6).map((c) => c.id));
  for (const control of plan.checks.filter((c) => c.purpose === 'control')) {
    const dependents = plan.checks.filter((c) => c.control === control.id);
    if (dependents.length > 0 && dependents.every((c) => ids.has(c.id))) ids.add(control.id);
  }
  return ids;
}

/**
 * The pod's own IPv6 addresses: any interface but loopback, link-local excluded (fe80::/10 never
 * leaves the link). A unique-local address counts: clusters often NAT it out.
 */
export function ownIpv6Addresses(interfaces = networkInterfaces()): string[] {
  return Object.values(interfaces)
    .flatMap((list) => list ?? [])
    .filter((a) => a.family === 'IPv6' && !a.internal && !/^fe[89ab]/i.test(a.address))
    .map((a) => a.address);
}
