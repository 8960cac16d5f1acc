import t from 'tap';
import { type Endpoint, egressPoliciesFor, type KindedPolicy, POLICY_KINDS, type PolicyKind, policyKindOf } from './policy-kinds.js';

const kind = (id: string): PolicyKind => {
  const k = POLICY_KINDS.find((x) => x.id === id);
  if (k === undefined) throw new Error(id);
  return k;
};
const policy = (id: string, name: string, spec: unknown, namespace?: string, extra: object = {}): KindedPolicy => ({
  kind: kind(id),
  object: { metadata: { name, ...(namespace && { namespace }) }, spec, ...extra },
});

const workload: Endpoint = {
  namespace: 'production-agents',
  labels: { role: 'agent-workload', app: 'data-processor' },
  namespaceLabels: { 'kubernetes.io/metadata.name': 'production-agents', tier: 'prod' },
  serviceAccount: 'data-processor',
};
const other: Endpoint = { ...workload, labels: { app: 'egress-guardian' }, serviceAccount: 'default' };
const ns = 'production-agents';

t.test('every kind is registered once, and found again by apiVersion and kind', async (t) => {
  t.equal(new Set(POLICY_KINDS.map((k) => k.id)).size, POLICY_KINDS.length);
  t.equal(policyKindOf('projectcalico.org/v3', 'NetworkPolicy')?.id, 'NetworkPolicy.projectcalico.org/v3');
  t.equal(policyKindOf('networking.k8s.io/v1', 'NetworkPolicy')?.id, 'NetworkPolicy');
  t.equal(policyKindOf('cilium.io/v2', 'CiliumNetworkPolicy')?.namespaced, true);
  t.equal(policyKindOf('v1', 'Pod'), undefined);
});

t.test('each kind selects the workload by its own rules, and only for egress', async (t) => {
  const policies: KindedPolicy[] = [
    policy('NetworkPolicy', 'restrict', { podSelector: { matchLabels: { role: 'agent-workload' } }, policyTypes: ['Egress'] }, ns),
    policy('NetworkPolicy', 'ingress-only', { podSelector: {}, policyTypes: ['Ingress'] }, ns),
    policy('NetworkPolicy', 'elsewhere', { podSelector: {}, policyTypes: ['Egress'] }, 'other'),
    policy('AdminNetworkPolicy', 'anp-ns', {
      priority: 10,
      subject: { namespaces: { matchLabels: { tier: 'prod' } } },
      egress: [{ action: 'Allow', to: [{ networks: ['0.0.0.0/0'] }] }],
    }),
    policy('AdminNetworkPolicy', 'anp-ingress', {
      priority: 10,
      subject: { namespaces: {} },
      ingress: [{ action: 'Allow', from: [{ namespaces: {} }] }],
    }),
    policy('BaselineAdminNetworkPolicy', 'default', {
      subject: { pods: { namespaceSelector: {}, podSelector: { matchLabels: { role: 'agent-workload' } } } },
      egress: [{ action: 'Deny', to: [{ networks: ['0.0.0.0/0'] }] }],
    }),
    policy('ClusterNetworkPolicy', 'cnp', {
      tier: 'Admin',
      priority: 5,
      subject: { namespaces: { matchLabels: { tier: 'dev' } } },
      egress: [{ action: 'Accept', to: [{ networks: ['0.0.0.0/0'] }] }],
    }),
    policy(
      'CiliumNetworkPolicy',
      'world',
      { endpointSelector: { matchLabels: { 'k8s:role': 'agent-workload' } }, egress: [{ toEntities: ['world'] }] },
      ns,
    ),
    policy('CiliumClusterwideNetworkPolicy', 'by-namespace', {
      endpointSelector: { matchLabels: { 'k8s:io.kubernetes.pod.namespace': ns } },
      egressDeny: [{ toEntities: ['world'] }],
    }),
    policy('CiliumClusterwideNetworkPolicy', 'host', { nodeSelector: {}, egress: [{ toEntities: ['world'] }] }),
    policy(
      'NetworkPolicy.projectcalico.org/v3',
      'calico',
      { selector: "role == 'agent-workload'", types: ['Egress'], egress: [{ action: 'Allow' }] },
      ns,
    ),
    policy('GlobalNetworkPolicy.crd.projectcalico.org/v1', 'global', {
      namespaceSelector: "tier == 'prod'",
      selector: 'all()',
      egress: [{ action: 'Deny' }],
    }),
    policy('GlobalNetworkPolicy.projectcalico.org/v3', 'by-sa', {
      serviceAccountSelector: "projectcalico.org/name == 'data-processor'",
      egress: [{ action: 'Deny' }],
    }),
    policy('NetworkPolicy.crd.projectcalico.org/v1', 'ingress', { selector: 'all()', ingress: [{ action: 'Allow' }] }, ns),
  ];
  t.same(egressPoliciesFor(policies, workload), {
    selecting: [
      'AdminNetworkPolicy/anp-ns',
      'BaselineAdminNetworkPolicy/default',
      'CiliumClusterwideNetworkPolicy/by-namespace',
      'CiliumNetworkPolicy/world',
      'GlobalNetworkPolicy.crd.projectcalico.org/v1/global',
      'GlobalNetworkPolicy.projectcalico.org/v3/by-sa',
      'NetworkPolicy.projectcalico.org/v3/calico',
      'NetworkPolicy/restrict',
    ],
    unknown: [],
  });
  t.same(egressPoliciesFor(policies, other).selecting, [
    'AdminNetworkPolicy/anp-ns',
    'CiliumClusterwideNetworkPolicy/by-namespace',
    'GlobalNetworkPolicy.crd.projectcalico.org/v1/global',
  ]);
});

t.test('what cannot be evaluated is named, never counted', async (t) => {
  const policies = [
    policy('NetworkPolicy.projectcalico.org/v3', 'typo', { selector: "role = 'x'", types: ['Egress'] }, ns),
    policy(
      'CiliumNetworkPolicy',
      'reserved',
      { endpointSelector: { matchLabels: { 'reserved:host': '' } }, egress: [{ toEntities: ['world'] }] },
      ns,
    ),
    policy('AdminNetworkPolicy', 'no-subject', {
      priority: 1,
      subject: {},
      egress: [{ action: 'Deny', to: [{ networks: ['0.0.0.0/0'] }] }],
    }),
    policy('GlobalNetworkPolicy.projectcalico.org/v3', 'by-sa', { serviceAccountSelector: "team == 'a'", egress: [{ action: 'Deny' }] }),
  ];
  const { selecting, unknown } = egressPoliciesFor(policies, { ...workload, serviceAccount: undefined } as Endpoint);
  t.same(selecting, []);
  t.equal(unknown.length, 4);
  t.match(unknown.join('\n'), /NetworkPolicy\.projectcalico\.org\/v3\/typo: its selector does not parse/);
  t.match(unknown.join('\n'), /CiliumNetworkPolicy\/reserved/);
  t.match(unknown.join('\n'), /AdminNetworkPolicy\/no-subject/);
  t.match(unknown.join('\n'), /by-sa: its serviceAccountSelector needs the service account/);
});

t.test('a Cilium policy with several specs selects when any of them does', async (t) => {
  const p = policy('CiliumNetworkPolicy', 'multi', undefined, ns, {
    specs: [
      { endpointSelector: { matchLabels: { app: 'nothing' } }, egress: [{ toEntities: ['world'] }] },
      {
        endpointSelector: { matchExpressions: [{ key: 'any:role', operator: 'In', values: ['agent-workload'] }] },
        egress: [{ toFQDNs: [{ matchName: 'example.com' }] }],
      },
    ],
  });
  t.same(egressPoliciesFor([p], workload).selecting, ['CiliumNetworkPolicy/multi']);
  t.same(egressPoliciesFor([p], other).selecting, []);
});
