/**
 * Direct paths a NetworkPolicy opens for workload pods (an ipBlock outside the cluster's own
 * ranges), and which of them the catalogue's sanctioned exceptions (probes/exceptions.ts) cover.
 * A sanction never widens: an exception for one address and port covers a rule that admits that
 * address alone (a /32 or /128) on that TCP port alone, and nothing wider. Pure.
 */
import type { V1NetworkPolicyEgressRule } from '@kubernetes/client-node';
import { urlEndpoint } from '../../probes/base/endpoint.js';
import type { SanctionedException } from '../../probes/exceptions.js';
import { isInternalIpv4, isWideRule, parseIpv4, parseIpv4Cidr, portNumber, rulesOf } from './egress.js';
import type { Policy, Workload } from './inventory.js';
import type { ManifestObject } from './manifests.js';

/** One ipBlock of one egress rule that lets a workload's pods leave the cluster directly. */
export interface DirectPath {
  workload: Workload;
  policy: Policy;
  rule: V1NetworkPolicyEgressRule;
  cidr: string;
}

/** fc00::/7 (unique local), fe80::/10 (link-local) and loopback. */
const INTERNAL_IPV6 = /^(f[cd][0-9a-f]{2}|fe[89ab][0-9a-f]):|^::1?(\/|$)/i;

function isOutside(cidr: string): boolean {
  if (cidr.includes(':')) return !INTERNAL_IPV6.test(cidr.trim());
  const block = parseIpv4Cidr(cidr);
  return block !== undefined && !isInternalIpv4(block);
}

/** Rules that open any address are wide-egress's; these are the narrower ones, one per ipBlock. */
export function directPaths(workloads: readonly Workload[]): DirectPath[] {
  const paths: DirectPath[] = [];
  for (const workload of workloads)
    for (const policy of workload.egressPolicies)
      for (const rule of rulesOf(policy.policy)) {
        if (isWideRule(rule)) continue;
        for (const peer of rule.to ?? []) {
          const cidr = peer.ipBlock?.cidr;
          if (typeof cidr === 'string' && isOutside(cidr)) paths.push({ workload, policy, rule, cidr });
        }
      }
  return paths;
}

const namesWorkload = (e: SanctionedException, o: ManifestObject): boolean => {
  const [kind = '', name = ''] = e.workload.split('/');
  return kind.toLowerCase() === o.kind.toLowerCase() && name === o.name;
};

/** IPv6 in one spelling ("2001:DB8::0:1" and "2001:db8::1" are one address). */
function canonicalIpv6(address: string): string | undefined {
  try {
    return new URL(`http://[${address}]/`).hostname;
  } catch {
    return undefined;
  }
}

/** Is the CIDR exactly this one address? */
function isSingleAddress(cidr: string, host: string): boolean {
  const [address = '', bits] = cidr.trim().split('/', 2);
  if (address.includes(':')) {
    const one = canonicalIpv6(address);
    return (bits === undefined || bits === '128') && one !== undefined && one === canonicalIpv6(host);
  }
  const block = parseIpv4Cidr(cidr);
  return block !== undefined && block.prefix === 32 && block.network === parseIpv4(host);
}

const endpointOf = (e: SanctionedException): { host: string; port: number } | undefined => {
  try {
    return urlEndpoint(e.url);
  } catch {
    return undefined;
  }
};

/**
 * The exceptions among `candidates` that together cover the path: each port of its rule a single
 * TCP port that one of them names, for that workload and that address alone. Undefined when they
 * do not: a rule for every port, a range, UDP, or a port no exception names.
 */
export function coverOf(path: DirectPath, candidates: readonly SanctionedException[]): SanctionedException[] | undefined {
  const ports = path.rule.ports ?? [];
  if (ports.length === 0) return undefined;
  const naming = candidates.filter((e) => {
    const endpoint = endpointOf(e);
    return namesWorkload(e, path.workload.object) && endpoint !== undefined && isSingleAddress(path.cidr, endpoint.host);
  });
  const used = new Set<SanctionedException>();
  for (const p of ports) {
    const port = portNumber(p.port);
    if ((p.protocol ?? 'TCP') !== 'TCP' || port === undefined || (p.endPort !== undefined && p.endPort !== port)) return undefined;
    const e = naming.find((x) => endpointOf(x)?.port === port);
    if (e === undefined) return undefined;
    used.add(e);
  }
  return [...used];
}

/** What the rule admits on the way out, as people write it. */
export function describePorts(rule: V1NetworkPolicyEgressRule): string {
  const ports = rule.ports ?? [];
  if (ports.length === 0) return 'every port';
  return ports.map((p) => `${p.protocol ?? 'TCP'} ${p.port ?? 'any'}${typeof p.endPort === 'number' ? `-${p.endPort}` : ''}`).join(', ');
}

export const describeException = (e: SanctionedException): string =>
  `the exception for ${e.workload} to ${e.url} ("${e.reason}"${e.expires === undefined ? '' : `, until ${e.expires}`})`;

/** The workloads an exception names among those audited. */
export const workloadsNamed = (e: SanctionedException, workloads: readonly Workload[]): Workload[] =>
  workloads.filter((w) => namesWorkload(e, w.object));
