import { readFileSync } from 'node:fs';
import type { V1Pod, V1PodSpec, V1PodTemplateSpec, V1PolicyRule } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import t from 'tap';
import { matchesLabels } from '../../test/fake-kube.js';
import { loopbackApi } from '../../test/loopback-api.js';
import { grants, tooWide } from '../../test/rbac.js';
import { connectKube } from '../kube/client.js';
import type { PolicyRead } from '../kube/policies.js';
import { type KindedPolicy, POLICY_KINDS } from '../kube/policy-kinds.js';
import {
  checkCompanion,
  checkWorkloads,
  POLICY_KIND_PERMISSIONS,
  RUN_PERMISSIONS,
  readyEndpoints,
  recordPermissions,
  type WorkloadToCheck,
} from './preflight.js';
import { probeIdentity } from './run.js';
import { targetFromTemplate } from './target.js';

interface Doc {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: V1PolicyRule[];
  subjects?: { namespace: string }[];
}
const docs = loadAll(readFileSync(new URL('../../manifests/rbac.yaml', import.meta.url), 'utf8')) as Doc[];

t.test('manifests/rbac.yaml grants what preflight checks in the tested namespace, and no Secret', async (t) => {
  const role = docs.find((d) => d.kind === 'Role');
  t.equal(role?.metadata.namespace, 'production-agents');
  const rules = role?.rules ?? [];
  for (const p of [...RUN_PERMISSIONS, ...recordPermissions('egress-verify-deployment-data-processor')])
    t.ok(grants(rules, p), `${p.verb} ${p.resource}${p.name ? ` ${p.name}` : ''}`);
  t.same(tooWide(rules), [], 'no Secret, no wildcard, no deletecollection');
});

t.test('the controller identity lives in its own namespace, bound into the tested one', async (t) => {
  t.equal(docs.find((d) => d.kind === 'ServiceAccount')?.metadata.namespace, 'egress-verify-system');
  t.same(
    docs.find((d) => d.kind === 'RoleBinding')?.subjects?.map((s) => s.namespace),
    ['egress-verify-system'],
  );
});

t.test('manifests/rbac.yaml lets a run list every other policy kind, read-only, each in its scope', async (t) => {
  const rulesOf = (kind: string): V1PolicyRule[] => docs.filter((d) => d.kind === kind).flatMap((d) => d.rules ?? []);
  t.ok(POLICY_KIND_PERMISSIONS.length > 0);
  for (const p of POLICY_KIND_PERMISSIONS)
    t.ok(grants(rulesOf(p.cluster ? 'ClusterRole' : 'Role'), p), `${p.cluster ? 'ClusterRole' : 'Role'}: list ${p.resource}.${p.group}`);
  const policies = docs.find((d) => d.kind === 'ClusterRole' && d.metadata.name === 'egress-verify-policies');
  t.same([...new Set((policies?.rules ?? []).flatMap((r) => r.verbs))], ['list'], 'the cluster-wide grant is read-only');
});

const NS = 'production-agents';
const endpoint = (ready: boolean) => ({ addresses: ['10.244.0.7'], conditions: { ready } });

const companionSvc = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'egress-guardian-svc', namespace: NS },
  spec: { ports: [{ port: 8080 }] },
};
const slices = (endpoints: unknown) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSliceList',
  metadata: {},
  items: [{ metadata: { name: 'egress-guardian-svc-x', namespace: NS }, addressType: 'IPv4', endpoints }],
});

/** A loopback API server that knows the companion's Service and serves the EndpointSlices given. */
async function apiServer(t: { teardown: (fn: () => unknown) => void }, endpoints: unknown): Promise<string> {
  const api = await loopbackApi(t, ({ path }) =>
    path === `/api/v1/namespaces/${NS}/services/egress-guardian-svc`
      ? { body: companionSvc }
      : path === `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`
        ? { body: slices(endpoints) }
        : undefined,
  );
  return api.kubeconfig;
}

/** The preflight warnings about the companion, with its EndpointSlice's `endpoints` as given. */
async function companionWarnings(t: { teardown: (fn: () => unknown) => void }, endpoints: unknown): Promise<string[]> {
  const warnings: string[] = [];
  await checkCompanion(connectKube({ kubeconfig: await apiServer(t, endpoints) }), 'http://egress-guardian-svc:8080', NS, warnings);
  return warnings;
}

t.test('a companion scaled to 0 (endpoints: null) is a warning, and the run goes on to prove the path broken', async (t) => {
  // issue 10: `Cannot read properties of null (reading 'conditions')`, exit 4 and no report.
  t.match(await companionWarnings(t, null), [/egress-guardian-svc has no ready endpoints: the allowed path is down/]);
});

t.test('ready endpoints are counted, a single one is a warning', async (t) => {
  t.match(await companionWarnings(t, [endpoint(true), endpoint(false)]), [/has one ready endpoint/]);
  t.same(await companionWarnings(t, [endpoint(true), endpoint(true)]), []);
  t.equal(
    readyEndpoints([
      { addressType: 'IPv4', endpoints: null as never },
      { addressType: 'IPv4', endpoints: [endpoint(true)] },
    ]),
    1,
  );
});

/** Pods by label selector, as the API server filters them. */
const podList = (pods: readonly V1Pod[], selector: string | null) => ({
  apiVersion: 'v1',
  kind: 'PodList',
  metadata: {},
  items: pods.filter((p) => matchesLabels(selector ?? '', p.metadata?.labels)),
});

/** A Deployment's pod template, with a NetworkPolicy for its `app` label. */
const template = (app: string): V1PodTemplateSpec => ({
  metadata: { labels: { app, tier: 'agents' } },
  spec: { serviceAccountName: `${app}-sa`, containers: [{ name: app, image: 'agent:1' }] },
});
const egressPolicy = (name: string, matchLabels: Record<string, string>): KindedPolicy => ({
  kind: POLICY_KINDS[0],
  object: {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: NS },
    spec: { podSelector: { matchLabels }, policyTypes: ['Egress'], egress: [] },
  },
});
const read: PolicyRead = {
  policies: [
    egressPolicy('agent-egress', { app: 'agent' }),
    egressPolicy('tool-egress', { app: 'tool' }),
    egressPolicy('debug-egress', { debug: 'on' }),
  ],
  namespaceLabels: { 'kubernetes.io/metadata.name': NS },
  warnings: [],
};
const livePod = (name: string, app: string, extra: Partial<V1PodSpec> = {}, labels: Record<string, string> = {}): V1Pod => ({
  metadata: { name, namespace: NS, labels: { app, tier: 'agents', 'pod-template-hash': 'abc', ...labels } },
  spec: { serviceAccountName: `${app}-sa`, containers: [{ name: app, image: 'agent:1' }], ...extra },
});
/** The agent's live pod was mutated after admission (a webhook set its DNS); the tool's is as templated. */
const LIVE = [livePod('agent-1', 'agent', { dnsPolicy: 'None' }), livePod('tool-1', 'tool')];

const toCheck = (app: string, i: number): WorkloadToCheck => {
  const target = targetFromTemplate(NS, `deployment/${app}-${i}`, template(app), undefined);
  return { target, companion: 'http://egress-guardian-svc:8080', probeLabels: probeIdentity(target) };
};

/** checkWorkloads against a loopback API server holding the companion and the live pods given. */
async function checked(t: Parameters<typeof loopbackApi>[0], workloads: readonly WorkloadToCheck[], pods: readonly V1Pod[] = LIVE) {
  const api = await loopbackApi(t, ({ path, query }) =>
    path === `/api/v1/namespaces/${NS}/services/egress-guardian-svc`
      ? { body: companionSvc }
      : path === `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`
        ? { body: slices([endpoint(true), endpoint(true)]) }
        : path === `/api/v1/namespaces/${NS}/pods`
          ? { body: podList(pods, query.get('labelSelector')) }
          : undefined,
  );
  const results = await checkWorkloads(connectKube({ kubeconfig: api.kubeconfig }), workloads, read);
  return { requests: api.requests.sort(), results: results.map(({ live, warnings }) => ({ live, warnings })) };
}

t.test('100 identical workloads cost the API server what one does, and each is checked as if alone', async (t) => {
  const one = await checked(t, [toCheck('agent', 0)]);
  t.same(one.requests, [
    `GET /api/v1/namespaces/${NS}/pods`,
    `GET /api/v1/namespaces/${NS}/services/egress-guardian-svc`,
    `GET /apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`,
  ]);
  t.match(one.results[0]?.live, [{ field: 'dnsPolicy (pod agent-1)', workload: 'None', probe: 'unset', decidesEgress: true }]);
  const hundred = await checked(
    t,
    Array.from({ length: 100 }, (_, i) => toCheck('agent', i)),
  );
  t.same(hundred.requests, one.requests, 'the companion once, the live pods of the one selector once');
  t.equal(hundred.results.length, 100);
  for (const [i, r] of hundred.results.entries()) t.same(r, one.results[0], `workload ${i}`);
});

t.test('workloads of another selector get their own live pods and their own differences', async (t) => {
  const mixed = await checked(t, [toCheck('agent', 0), toCheck('tool', 0), toCheck('agent', 1)]);
  t.equal(mixed.requests.filter((r) => r.endsWith('/pods')).length, 2, 'one list per selector');
  t.equal(mixed.requests.filter((r) => r.endsWith('/egress-guardian-svc')).length, 1, 'one companion');
  for (const i of [0, 2]) t.match(mixed.results[i]?.live, [{ field: 'dnsPolicy (pod agent-1)' }]);
  t.same(mixed.results[1], (await checked(t, [toCheck('tool', 0)])).results[0], 'the tool as if checked alone');
  t.same(mixed.results[1]?.live, []);
});

t.test('a live pod other policies govern fails the run, the first such workload in order named', async (t) => {
  const pods = [...LIVE, livePod('tool-2', 'tool', {}, { debug: 'on' })];
  await t.rejects(checked(t, [toCheck('agent', 0), toCheck('tool', 0), toCheck('tool', 1)], pods), {
    message: /probe identity differs from pod tool-2: egress policies \[.*debug-egress.*\] select the pod/,
  });
  const noLive = await checked(t, [toCheck('agent', 0)], []);
  t.match(noLive.results[0]?.warnings, [/no live pod matches app=agent,tier=agents/]);
});
