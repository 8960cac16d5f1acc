import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1PolicyRule } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import t from 'tap';
import { grants, tooWide } from '../../test/rbac.js';
import { connectKube } from '../kube/client.js';
import { checkCompanion, POLICY_KIND_PERMISSIONS, RUN_PERMISSIONS, readyEndpoints, recordPermissions } from './preflight.js';

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

/** A loopback API server that knows the companion's Service and serves the EndpointSlices given. */
async function apiServer(t: { teardown: (fn: () => unknown) => void }, endpoints: unknown): Promise<string> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body =
      path === `/api/v1/namespaces/${NS}/services/egress-guardian-svc`
        ? { apiVersion: 'v1', kind: 'Service', metadata: { name: 'egress-guardian-svc', namespace: NS }, spec: { ports: [{ port: 8080 }] } }
        : path === `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`
          ? {
              apiVersion: 'discovery.k8s.io/v1',
              kind: 'EndpointSliceList',
              metadata: {},
              items: [{ metadata: { name: 'egress-guardian-svc-x', namespace: NS }, addressType: 'IPv4', endpoints }],
            }
          : undefined;
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? { kind: 'Status', code: 404, reason: 'NotFound' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const dir = mkdtempSync(join(tmpdir(), 'ev-preflight-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  const { port } = server.address() as AddressInfo;
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'lab', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token: 'x' } }],
      contexts: [{ name: 'lab', context: { cluster: 'lab', user: 'u' } }],
      'current-context': 'lab',
    }),
  );
  return kubeconfig;
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
