import t from 'tap';
import { type Endpoint, policyKindOf } from '../kube/policy-kinds.js';
import type { ManifestObject } from './manifests.js';
import { type ForeignPolicy, foreignEgress } from './policy-paths.js';

const ns = 'production-agents';
const pod: Endpoint = {
  namespace: ns,
  labels: { role: 'agent-workload' },
  namespaceLabels: { 'kubernetes.io/metadata.name': ns },
  serviceAccount: 'default',
};

function policy(apiVersion: string, kind: string, name: string, spec: Record<string, unknown>, namespace?: string): ForeignPolicy {
  const k = policyKindOf(apiVersion, kind);
  if (k === undefined) throw new Error(`${apiVersion} ${kind}`);
  const body = { apiVersion, kind, metadata: { name, ...(namespace && { namespace }) }, spec };
  const manifest: ManifestObject = { apiVersion, kind, name, ...(namespace && { namespace }), body, location: { file: 'x.yaml', line: 1 } };
  return { kind: k, object: body, manifest };
}

const everyone = { namespaces: {} };
const anp = (name: string, priority: number, action: string, networks: string[]): ForeignPolicy =>
  policy('policy.networking.k8s.io/v1alpha1', 'AdminNetworkPolicy', name, {
    priority,
    subject: everyone,
    egress: [{ name: `${action.toLowerCase()}-out`, action, to: [{ networks }] }],
  });
const banp = (action: string): ForeignPolicy =>
  policy('policy.networking.k8s.io/v1alpha1', 'BaselineAdminNetworkPolicy', 'default', {
    subject: everyone,
    egress: [{ name: 'baseline', action, to: [{ networks: ['0.0.0.0/0'] }] }],
  });
const opened = (policies: ForeignPolicy[], selectedByNetworkPolicy = true): string[] =>
  foreignEgress(policies, pod, selectedByNetworkPolicy).internet.map((p) => `${p.policy.object.metadata?.name} ${p.rule}`);

t.test('AdminNetworkPolicy: the lowest priority number decides; Pass hands over to the NetworkPolicies', async (t) => {
  t.same(opened([anp('allow', 10, 'Allow', ['0.0.0.0/0'])]), ['allow rule allow-out (priority 10, Allow)']);
  t.same(opened([anp('allow', 10, 'Allow', ['0.0.0.0/0']), anp('deny', 5, 'Deny', ['0.0.0.0/0'])]), [], 'a Deny ahead wins');
  t.same(opened([anp('allow', 10, 'Allow', ['0.0.0.0/0']), anp('pass', 5, 'Pass', ['0.0.0.0/0'])]), [], 'a Pass ahead skips the Allow');
  t.same(opened([anp('allow', 5, 'Allow', ['0.0.0.0/0']), anp('deny', 10, 'Deny', ['0.0.0.0/0'])]).length, 1, 'an Allow ahead wins');
  t.same(opened([anp('narrow', 10, 'Allow', ['203.0.113.0/24'])]), [], 'a narrow network is not the internet');
  const denied = foreignEgress([anp('deny', 5, 'Deny', ['0.0.0.0/0'])], pod, false);
  t.ok(denied.restricted, 'an Admin Deny restricts even without a NetworkPolicy');
});

t.test('BaselineAdminNetworkPolicy lies below the NetworkPolicies', async (t) => {
  t.same(opened([banp('Allow')], true), [], 'a NetworkPolicy selects the pod: the baseline is not reached');
  t.same(opened([banp('Allow')], false), ['default rule baseline (priority 0, Allow)']);
  t.ok(foreignEgress([banp('Deny')], pod, false).restricted, 'a baseline Deny restricts a pod no NetworkPolicy selects');
  t.same(opened([anp('pass', 5, 'Pass', ['0.0.0.0/0']), banp('Allow')], false).length, 1, 'Pass falls through to the baseline');
});

t.test('ClusterNetworkPolicy: tiers Admin and Baseline, Accept/Deny/Pass', async (t) => {
  const cnp = (name: string, tier: string, priority: number, action: string): ForeignPolicy =>
    policy('policy.networking.k8s.io/v1alpha2', 'ClusterNetworkPolicy', name, {
      tier,
      priority,
      subject: everyone,
      egress: [{ name: 'r', action, to: [{ networks: ['::/0', '0.0.0.0/0'] }] }],
    });
  t.same(opened([cnp('a', 'Admin', 3, 'Accept')]), ['a rule r (priority 3, Accept)']);
  t.same(opened([cnp('b', 'Baseline', 3, 'Accept')], true), []);
  t.same(opened([cnp('b', 'Baseline', 3, 'Accept')], false).length, 1);
  t.same(opened([cnp('a', 'Admin', 3, 'Accept'), cnp('d', 'Admin', 1, 'Deny')]), []);
});

t.test('Cilium: allows add up, an egressDeny wins, FQDNs are their own path', async (t) => {
  const cnp = (name: string, spec: Record<string, unknown>): ForeignPolicy =>
    policy('cilium.io/v2', 'CiliumNetworkPolicy', name, { endpointSelector: { matchLabels: { role: 'agent-workload' } }, ...spec }, ns);
  t.same(opened([cnp('world', { egress: [{ toEntities: ['world'] }] })]), ['world egress[0]']);
  t.same(opened([cnp('all', { egress: [{ toEntities: ['all'] }] })]), ['all egress[0]']);
  t.same(opened([cnp('cidr', { egress: [{ toCIDR: ['0.0.0.0/0'] }] })]), ['cidr egress[0]']);
  t.same(opened([cnp('set', { egress: [{ toCIDRSet: [{ cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] }] }] })]), ['set egress[0]']);
  t.same(opened([cnp('ports', { egress: [{ toPorts: [{ ports: [{ port: '443' }] }] }] })]), ['ports egress[0]']);
  t.same(opened([cnp('dns', { egress: [{ toEndpoints: [{}], toPorts: [{ ports: [{ port: '53' }] }] }] })]), []);
  t.same(opened([cnp('world', { egress: [{ toEntities: ['world'] }] }), cnp('deny', { egressDeny: [{ toEntities: ['world'] }] })]), []);
  const fqdn = foreignEgress([cnp('names', { egress: [{ toFQDNs: [{ matchPattern: '*.example.com' }] }] })], pod, true);
  t.same(
    fqdn.fqdn.map((p) => p.what),
    ['*.example.com'],
  );
  t.ok(fqdn.restricted, 'a pod a Cilium egress rule selects is default-deny otherwise');
  const other = policy(
    'cilium.io/v2',
    'CiliumNetworkPolicy',
    'other-ns',
    { endpointSelector: {}, egress: [{ toEntities: ['world'] }] },
    'elsewhere',
  );
  t.same(opened([other]), [], 'a namespaced Cilium policy of another namespace');
});

t.test('Calico: order decides between Allow and Deny; no order is last', async (t) => {
  const gnp = (name: string, order: number | undefined, action: string, destination: Record<string, unknown>): ForeignPolicy =>
    policy('projectcalico.org/v3', 'GlobalNetworkPolicy', name, {
      ...(order !== undefined && { order }),
      selector: "role == 'agent-workload'",
      types: ['Egress'],
      egress: [{ action, destination }],
    });
  const internet = { nets: ['0.0.0.0/0'] };
  t.same(opened([gnp('allow', 100, 'Allow', internet)]), ['allow egress[0] (order 100, Allow)']);
  t.same(opened([gnp('allow', 100, 'Allow', internet), gnp('deny', 10, 'Deny', internet)]), []);
  t.same(opened([gnp('allow', 10, 'Allow', internet), gnp('deny', 100, 'Deny', internet)]).length, 1);
  t.same(opened([gnp('allow', undefined, 'Allow', internet), gnp('deny', 5000, 'Deny', internet)]), [], 'no order comes last');
  t.same(opened([gnp('any', 1, 'Allow', {})]), ['any egress[0] (order 1, Allow)'], 'no destination is every destination');
  t.same(opened([gnp('dns', 1, 'Allow', { selector: "k8s-app == 'kube-dns'" })]), []);
  t.same(opened([gnp('most', 1, 'Allow', { notNets: ['10.0.0.0/8'] })]).length, 1, 'everything but a private range');
  const crd = policy(
    'crd.projectcalico.org/v1',
    'NetworkPolicy',
    'default.allow',
    { selector: 'all()', types: ['Egress'], egress: [{ action: 'Allow', destination: internet }] },
    ns,
  );
  t.same(opened([crd]), ['default.allow egress[0] (order none, Allow)'], 'crd.projectcalico.org/v1 is read the same');
  t.ok(foreignEgress([gnp('dns', 1, 'Allow', { selector: 'x' })], pod, false).restricted, 'a selected pod is denied at the end');
});
