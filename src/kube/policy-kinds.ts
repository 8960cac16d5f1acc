/**
 * Every policy kind that can decide a pod's egress, as data, and which of them select a pod.
 * Besides NetworkPolicy, the cluster-scoped network-policy-api kinds override or underlie a
 * namespace's policies, and CNIs enforce their own kinds next to them: a probe that carries the
 * workload's labels is only the workload's twin if all of them select both alike. Pure.
 */
import type { V1LabelSelector, V1NetworkPolicy } from '@kubernetes/client-node';
import { CalicoSelectorError, matchesCalico, parseCalicoSelector } from './calico-selector.js';
import { isEgressPolicy, type Labels, matchesSelector } from './selector.js';

export type PolicyFamily = 'kubernetes' | 'admin' | 'baseline' | 'cluster' | 'cilium' | 'calico';

export interface PolicyKind {
  /** The name people read: the kind, qualified where two groups share it. */
  id: string;
  kind: string;
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
  family: PolicyFamily;
}

export const POLICY_KINDS = [
  {
    id: 'NetworkPolicy',
    kind: 'NetworkPolicy',
    group: 'networking.k8s.io',
    version: 'v1',
    plural: 'networkpolicies',
    namespaced: true,
    family: 'kubernetes',
  },
  {
    id: 'AdminNetworkPolicy',
    kind: 'AdminNetworkPolicy',
    group: 'policy.networking.k8s.io',
    version: 'v1alpha1',
    plural: 'adminnetworkpolicies',
    namespaced: false,
    family: 'admin',
  },
  {
    id: 'BaselineAdminNetworkPolicy',
    kind: 'BaselineAdminNetworkPolicy',
    group: 'policy.networking.k8s.io',
    version: 'v1alpha1',
    plural: 'baselineadminnetworkpolicies',
    namespaced: false,
    family: 'baseline',
  },
  {
    id: 'ClusterNetworkPolicy',
    kind: 'ClusterNetworkPolicy',
    group: 'policy.networking.k8s.io',
    version: 'v1alpha2',
    plural: 'clusternetworkpolicies',
    namespaced: false,
    family: 'cluster',
  },
  {
    id: 'CiliumNetworkPolicy',
    kind: 'CiliumNetworkPolicy',
    group: 'cilium.io',
    version: 'v2',
    plural: 'ciliumnetworkpolicies',
    namespaced: true,
    family: 'cilium',
  },
  {
    id: 'CiliumClusterwideNetworkPolicy',
    kind: 'CiliumClusterwideNetworkPolicy',
    group: 'cilium.io',
    version: 'v2',
    plural: 'ciliumclusterwidenetworkpolicies',
    namespaced: false,
    family: 'cilium',
  },
  {
    id: 'NetworkPolicy.projectcalico.org/v3',
    kind: 'NetworkPolicy',
    group: 'projectcalico.org',
    version: 'v3',
    plural: 'networkpolicies',
    namespaced: true,
    family: 'calico',
  },
  {
    id: 'GlobalNetworkPolicy.projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    group: 'projectcalico.org',
    version: 'v3',
    plural: 'globalnetworkpolicies',
    namespaced: false,
    family: 'calico',
  },
  {
    id: 'NetworkPolicy.crd.projectcalico.org/v1',
    kind: 'NetworkPolicy',
    group: 'crd.projectcalico.org',
    version: 'v1',
    plural: 'networkpolicies',
    namespaced: true,
    family: 'calico',
  },
  {
    id: 'GlobalNetworkPolicy.crd.projectcalico.org/v1',
    kind: 'GlobalNetworkPolicy',
    group: 'crd.projectcalico.org',
    version: 'v1',
    plural: 'globalnetworkpolicies',
    namespaced: false,
    family: 'calico',
  },
] as const satisfies readonly PolicyKind[];

export const apiVersionOf = (k: PolicyKind): string => `${k.group}/${k.version}`;

export function policyKindOf(apiVersion: string | undefined, kind: string | undefined): PolicyKind | undefined {
  return POLICY_KINDS.find((k) => apiVersionOf(k) === apiVersion && k.kind === kind);
}

/** A policy object as served or written: apiVersion, kind, metadata and spec, plain JSON. */
export interface PolicyObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: unknown;
}

/** "AdminNetworkPolicy/allow-all", "NetworkPolicy.projectcalico.org/v3/default.x". */
export const policyRef = (kind: PolicyKind, p: PolicyObject): string => `${kind.id}/${p.metadata?.name ?? '?'}`;

/** A pod as policies see it. `namespaceLabels` include kubernetes.io/metadata.name. */
export interface Endpoint {
  namespace: string;
  labels: Labels;
  namespaceLabels: Labels;
  serviceAccount?: string;
}

/** Does the policy govern the endpoint's egress? `unknown` names what could not be evaluated. */
export type Selection = { selects: boolean } | { unknown: string };

export const record = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const selector = (v: unknown): V1LabelSelector | undefined => (v === undefined ? undefined : (record(v) as V1LabelSelector));
const hasEgress = (spec: Record<string, unknown>): boolean => list(spec.egress).length > 0;

/** AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy: `subject` picks namespaces or pods. */
function subjectSelects(subject: Record<string, unknown>, e: Endpoint): Selection {
  if (subject.namespaces !== undefined) return { selects: matchesSelector(selector(subject.namespaces), e.namespaceLabels) };
  if (subject.pods !== undefined) {
    const pods = record(subject.pods);
    return {
      selects:
        matchesSelector(selector(pods.namespaceSelector), e.namespaceLabels) && matchesSelector(selector(pods.podSelector), e.labels),
    };
  }
  return { unknown: 'its subject names neither namespaces nor pods' };
}

/** Cilium's identity labels: a key may carry a source prefix (k8s:, any:); reserved: and the like are not pods. */
function ciliumLabels(e: Endpoint): Labels {
  const out: Record<string, string> = { ...e.labels, 'io.kubernetes.pod.namespace': e.namespace };
  for (const [k, v] of Object.entries(e.namespaceLabels)) out[`io.cilium.k8s.namespace.labels.${k}`] = v;
  if (e.serviceAccount !== undefined) out['io.cilium.k8s.policy.serviceaccount'] = e.serviceAccount;
  return out;
}

function ciliumSelector(s: V1LabelSelector | undefined): V1LabelSelector | undefined {
  if (s === undefined) return undefined;
  const strip = (key: string): string => key.replace(/^(k8s|any):/, '');
  return {
    ...(s.matchLabels && { matchLabels: Object.fromEntries(Object.entries(s.matchLabels).map(([k, v]) => [strip(k), v])) }),
    ...(s.matchExpressions && { matchExpressions: s.matchExpressions.map((x) => ({ ...x, key: strip(x.key) })) }),
  };
}

/** The rules of a Cilium policy (`spec` and `specs`) that govern the endpoint's egress. */
export function ciliumRulesFor(body: PolicyObject, e: Endpoint): Selection & { rules?: Record<string, unknown>[] } {
  const rules = [...(body.spec !== undefined ? [record(body.spec)] : []), ...list((body as { specs?: unknown }).specs).map(record)];
  const labels = ciliumLabels(e);
  const selected: Record<string, unknown>[] = [];
  for (const rule of rules) {
    const egress = list(rule.egress).length > 0 || list(rule.egressDeny).length > 0 || record(rule.enableDefaultDeny).egress === true;
    // nodeSelector rules are host policies: they never select a pod.
    if (!egress || rule.endpointSelector === undefined) continue;
    const s = ciliumSelector(selector(rule.endpointSelector));
    if (JSON.stringify(s).includes('reserved:')) return { unknown: 'its endpointSelector uses reserved: identities' };
    if (matchesSelector(s, labels)) selected.push(rule);
  }
  return { selects: selected.length > 0, rules: selected };
}

/** Calico's endpoint labels: the pod's, plus its namespace and service account as Calico exposes them. */
function calicoLabels(e: Endpoint): Labels {
  const out: Record<string, string> = {
    ...e.labels,
    'projectcalico.org/namespace': e.namespace,
    'projectcalico.org/orchestrator': 'k8s',
  };
  for (const [k, v] of Object.entries(e.namespaceLabels)) out[`pcns.${k}`] = v;
  if (e.serviceAccount !== undefined) out['projectcalico.org/serviceaccount'] = e.serviceAccount;
  return out;
}

/** Egress when `types` lists it; unset, when there are egress rules (Calico's default). */
function calicoEgress(spec: Record<string, unknown>): boolean {
  const types = list(spec.types);
  return types.length > 0 ? types.includes('Egress') : hasEgress(spec);
}

function calicoSelects(kind: PolicyKind, body: PolicyObject, e: Endpoint): Selection {
  const spec = record(body.spec);
  if (!calicoEgress(spec)) return { selects: false };
  const field = (name: string): string => (typeof spec[name] === 'string' ? (spec[name] as string) : '');
  try {
    if (!matchesCalico(parseCalicoSelector(field('selector')), calicoLabels(e))) return { selects: false };
    if (!kind.namespaced) {
      const nsLabels = { ...e.namespaceLabels, 'projectcalico.org/name': e.namespace };
      if (!matchesCalico(parseCalicoSelector(field('namespaceSelector')), nsLabels)) return { selects: false };
    }
    const sa = parseCalicoSelector(field('serviceAccountSelector'));
    if (sa.op === 'all') return { selects: true };
    // A service account's own labels are not read; its name is.
    if (e.serviceAccount === undefined) return { unknown: 'its serviceAccountSelector needs the service account' };
    return { selects: matchesCalico(sa, { 'projectcalico.org/name': e.serviceAccount }) };
  } catch (err) {
    if (err instanceof CalicoSelectorError) return { unknown: `its selector does not parse (${err.message})` };
    throw err;
  }
}

export function egressSelection(kind: PolicyKind, body: PolicyObject, e: Endpoint): Selection {
  if (kind.namespaced && (body.metadata?.namespace ?? e.namespace) !== e.namespace) return { selects: false };
  const spec = record(body.spec);
  switch (kind.family) {
    case 'kubernetes':
      return { selects: isEgressPolicy(body as V1NetworkPolicy) && matchesSelector(selector(spec.podSelector) ?? {}, e.labels) };
    case 'admin':
    case 'baseline':
    case 'cluster':
      return hasEgress(spec) ? subjectSelects(record(spec.subject), e) : { selects: false };
    case 'cilium':
      return ciliumRulesFor(body, e);
    case 'calico':
      return calicoSelects(kind, body, e);
  }
}

/** One policy read from the API or a file, with its kind. */
export interface KindedPolicy {
  kind: PolicyKind;
  object: PolicyObject;
}

/**
 * The policies that govern the endpoint's egress, as sorted refs, and those that could not be
 * evaluated (with why): a caller never claims anything about the latter.
 */
export function egressPoliciesFor(policies: readonly KindedPolicy[], e: Endpoint): { selecting: string[]; unknown: string[] } {
  const selecting: string[] = [];
  const unknown: string[] = [];
  for (const p of policies) {
    const s = egressSelection(p.kind, p.object, e);
    if ('unknown' in s) unknown.push(`${policyRef(p.kind, p.object)}: ${s.unknown}`);
    else if (s.selects) selecting.push(policyRef(p.kind, p.object));
  }
  return { selecting: selecting.sort(), unknown: unknown.sort() };
}
