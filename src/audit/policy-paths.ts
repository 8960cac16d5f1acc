/**
 * Which rules of the policy kinds beyond NetworkPolicy open the internet to a pod, each kind
 * by its own precedence:
 * - network-policy-api: the Admin tier (AdminNetworkPolicy, ClusterNetworkPolicy tier Admin) by
 *   priority, lowest first, where the first rule that matches decides (Allow/Accept, Deny, or Pass
 *   down to the NetworkPolicies); then the NetworkPolicies; the Baseline tier
 *   (BaselineAdminNetworkPolicy, ClusterNetworkPolicy tier Baseline) only for pods no
 *   NetworkPolicy selects;
 * - Cilium: every allow adds up, and an egressDeny wins over any allow;
 * - Calico: policies by `order` (none is last), rules in turn, the first Allow, Deny or Pass that
 *   matches decides; a Kubernetes NetworkPolicy has only allows and never stops the walk.
 * An FQDN allow is a direct path around the companion too: it is reported on its own. Pure.
 */
import { ciliumRulesFor, type Endpoint, egressSelection, type KindedPolicy, list, record } from '../kube/policy-kinds.js';
import { prefixLength, WIDE_PREFIX } from './egress.js';
import type { ManifestObject } from './manifests.js';

export interface ForeignPolicy extends KindedPolicy {
  manifest: ManifestObject;
}

export interface PolicyPath {
  policy: ForeignPolicy;
  /** The rule, as people find it: its name, or its place in the list. */
  rule: string;
  /** What it admits: "0.0.0.0/0", "toEntities world", "example.com". */
  what: string;
}

export interface ForeignEgress {
  /** Rules that let the pod reach any internet address. */
  internet: PolicyPath[];
  /** Rules that let the pod reach names directly (FQDN allows). */
  fqdn: PolicyPath[];
  /** Some policy of these kinds closes the internet to the pod (a deny, or a CNI's default deny). */
  restricted: boolean;
}

const wideCidr = (c: unknown): boolean => typeof c === 'string' && (prefixLength(c) ?? 99) < WIDE_PREFIX;
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

function selecting(policies: readonly ForeignPolicy[], e: Endpoint): ForeignPolicy[] {
  return policies.filter((p) => {
    const s = egressSelection(p.kind, p.object, e);
    return 'selects' in s && s.selects;
  });
}

type Tier = 'Admin' | 'Baseline';
const tierOf = (p: ForeignPolicy): Tier | undefined =>
  p.kind.family === 'admin'
    ? 'Admin'
    : p.kind.family === 'baseline'
      ? 'Baseline'
      : p.kind.family === 'cluster'
        ? (text(record(p.object.spec).tier) as Tier)
        : undefined;
const priorityOf = (p: ForeignPolicy): number => {
  const n = record(p.object.spec).priority;
  return typeof n === 'number' ? n : 0;
};

/** Walks one network-policy-api tier; returns how it ended. */
function walkTier(tier: readonly ForeignPolicy[], out: ForeignEgress): 'allow' | 'deny' | 'pass' | 'none' {
  const ordered = [...tier].sort(
    (a, b) => priorityOf(a) - priorityOf(b) || (a.object.metadata?.name ?? '').localeCompare(b.object.metadata?.name ?? ''),
  );
  for (const p of ordered) {
    for (const [i, r] of list(record(p.object.spec).egress).map(record).entries()) {
      const action = text(r.action);
      const rule = `rule ${text(r.name) || `egress[${i}]`} (priority ${priorityOf(p)}, ${action})`;
      const peers = list(r.to).map(record);
      const allows = action === 'Allow' || action === 'Accept';
      const domains = peers.flatMap((peer) => list(peer.domainNames)).map(text);
      if (allows && domains.length > 0) out.fqdn.push({ policy: p, rule, what: domains.join(', ') });
      const network = peers.flatMap((peer) => list(peer.networks)).find(wideCidr);
      if (network === undefined) continue;
      if (allows) {
        out.internet.push({ policy: p, rule, what: String(network) });
        return 'allow';
      }
      if (action === 'Deny') {
        out.restricted = true;
        return 'deny';
      }
      if (action === 'Pass') return 'pass';
    }
  }
  return 'none';
}

function networkPolicyApi(policies: readonly ForeignPolicy[], selectedByNetworkPolicy: boolean, out: ForeignEgress): void {
  const admin = policies.filter((p) => tierOf(p) === 'Admin');
  const ended = walkTier(admin, out);
  if (ended === 'allow' || ended === 'deny' || selectedByNetworkPolicy) return;
  walkTier(
    policies.filter((p) => tierOf(p) === 'Baseline'),
    out,
  );
}

const CILIUM_WORLD = new Set(['world', 'all', 'world-ipv4', 'world-ipv6']);
const CILIUM_L3 = ['toEntities', 'toCIDR', 'toCIDRSet', 'toEndpoints', 'toServices', 'toFQDNs', 'toGroups', 'toNodes', 'toRequires'];

/** What of the internet a Cilium egress (or egressDeny) rule reaches; undefined for none. */
function ciliumInternet(r: Record<string, unknown>): string | undefined {
  const entity = list(r.toEntities)
    .map(text)
    .find((x) => CILIUM_WORLD.has(x));
  if (entity !== undefined) return `toEntities ${entity}`;
  const cidr =
    list(r.toCIDR).find(wideCidr) ??
    list(r.toCIDRSet)
      .map((s) => record(s).cidr)
      .find(wideCidr);
  if (cidr !== undefined) return `toCIDR ${cidr}`;
  // Ports with no L3 peer: those ports to every destination.
  if (list(r.toPorts).length > 0 && !CILIUM_L3.some((k) => r[k] !== undefined)) return 'toPorts without a destination';
  return undefined;
}

function cilium(policies: readonly ForeignPolicy[], e: Endpoint, out: ForeignEgress): void {
  const internet: PolicyPath[] = [];
  const fqdn: PolicyPath[] = [];
  let denied = false;
  let governed = false;
  for (const p of policies.filter((x) => x.kind.family === 'cilium')) {
    const rules = ciliumRulesFor(p.object, e).rules ?? [];
    for (const [n, spec] of rules.entries()) {
      governed = true;
      const at = rules.length > 1 ? `specs[${n}].` : '';
      for (const r of list(spec.egressDeny).map(record)) if (ciliumInternet(r) !== undefined) denied = true;
      for (const [i, r] of list(spec.egress).map(record).entries()) {
        const what = ciliumInternet(r);
        if (what !== undefined) internet.push({ policy: p, rule: `${at}egress[${i}]`, what });
        const names = list(r.toFQDNs).map((f) => text(record(f).matchName) || text(record(f).matchPattern));
        if (names.length > 0) fqdn.push({ policy: p, rule: `${at}egress[${i}]`, what: names.join(', ') });
      }
    }
  }
  if (denied) {
    out.restricted = true;
    return;
  }
  out.internet.push(...internet);
  out.fqdn.push(...fqdn);
  // A pod any Cilium egress rule selects is default-deny for everything else.
  if (governed && internet.length === 0) out.restricted = true;
}

/** Calico rule destination that covers every internet address. */
function calicoInternet(r: Record<string, unknown>): string | undefined {
  const d = record(r.destination);
  if (['selector', 'namespaceSelector', 'serviceAccounts', 'services', 'domains'].some((k) => d[k] !== undefined)) return undefined;
  if (list(d.notNets).some(wideCidr)) return undefined;
  const nets = list(d.nets);
  if (nets.length === 0) return 'any destination';
  return nets.find(wideCidr) as string | undefined;
}

function calico(policies: readonly ForeignPolicy[], out: ForeignEgress): void {
  const order = (p: ForeignPolicy): number => {
    const o = record(p.object.spec).order;
    return typeof o === 'number' ? o : Number.POSITIVE_INFINITY;
  };
  const ordered = policies
    .filter((p) => p.kind.family === 'calico')
    .sort((a, b) => order(a) - order(b) || (a.object.metadata?.name ?? '').localeCompare(b.object.metadata?.name ?? ''));
  if (ordered.length === 0) return;
  for (const p of ordered) {
    for (const [i, r] of list(record(p.object.spec).egress).map(record).entries()) {
      const action = text(r.action);
      const rule = `egress[${i}] (order ${Number.isFinite(order(p)) ? order(p) : 'none'}, ${action})`;
      const domains = list(record(r.destination).domains).map(text);
      if (action === 'Allow' && domains.length > 0) out.fqdn.push({ policy: p, rule, what: domains.join(', ') });
      const what = calicoInternet(r);
      if (what === undefined || action === 'Log') continue;
      if (action === 'Allow') out.internet.push({ policy: p, rule, what });
      else out.restricted = true;
      return;
    }
  }
  // Selected, and nothing matched: Calico denies at the end of the tier.
  out.restricted = true;
}

export function foreignEgress(policies: readonly ForeignPolicy[], e: Endpoint, selectedByNetworkPolicy: boolean): ForeignEgress {
  const out: ForeignEgress = { internet: [], fqdn: [], restricted: false };
  const mine = selecting(policies, e);
  networkPolicyApi(mine, selectedByNetworkPolicy, out);
  cilium(mine, e, out);
  calico(mine, out);
  return out;
}
