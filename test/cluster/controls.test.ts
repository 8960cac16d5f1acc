/**
 * The control pod on the lab cluster (`run --control-namespace`): a pod that no egress policy
 * selects sends the workload's must-fail checks directly. It proves an internal target (the API
 * server's Service address, which the companion is never asked about) and the resolver's UDP
 * port; a default-deny over its namespace leaves it reaching nothing, and the run says so and
 * falls back to the companion controls, or inconclusive. The control namespace and its RBAC are
 * manifests/control/control-namespace.yaml, applied here and deleted afterwards.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import t from 'tap';
import type { CheckResult } from '../../probes/base/model.js';
import {
  apply,
  type CliRun,
  CONTROL_NS,
  CONTROLLER_NS,
  exitIfClusterSkipped,
  installControlNamespace,
  kc,
  kubectl,
  LAB_CATALOGUE,
  probePods,
  REFERENCE_NS,
  runEgressVerify,
  sleep,
} from './cluster.js';

t.setTimeout(900_000);
exitIfClusterSkipped(t);

/** The API server's Service address: internal, blocked for the workload by the article's policies. */
const API_SERVER = { name: 'api-server', host: '10.96.0.1', port: 443 };
const INTERNAL_ID = `tcp/${API_SERVER.name}/${API_SERVER.host}:${API_SERVER.port}`;
const DNS_UDP_ID = 'dns/direct/198.51.100.53:53/udp';

const scratch = mkdtempSync(join(tmpdir(), 'ev-controls-'));
const catalogue = join(scratch, 'catalogue.yaml');
writeFileSync(catalogue, dump({ ...(load(readFileSync(LAB_CATALOGUE, 'utf8')) as object), internal: [API_SERVER] }));
const removeControlNamespace = installControlNamespace();
t.teardown(() => {
  removeControlNamespace();
  rmSync(scratch, { recursive: true, force: true });
});

const controlled = (extra: string[] = []): CliRun =>
  runEgressVerify(scratch, ['-n', REFERENCE_NS, '--workload', 'deployment/data-processor', '--catalogue', catalogue, ...extra]);
const byId = (r: CliRun, id: string): CheckResult | undefined => r.report?.results.find((x) => x.id === id);
const explain = (r: CheckResult | undefined): string =>
  r ? `${r.verdict} (${r.controlSource ?? '-'}): ${r.reason}; ${r.observation.detail}` : 'missing';

t.test("the manifest grants the controller's account what the control pod needs, and nothing to read Secrets", async (t) => {
  const as = `system:serviceaccount:${CONTROLLER_NS}:egress-verify`;
  const can = (verb: string, resource: string): string =>
    kubectl(['auth', 'can-i', verb, resource, '-n', CONTROL_NS, '--as', as]).stdout.trim();
  for (const [verb, resource] of [
    ['create', 'pods'],
    ['watch', 'pods'],
    ['delete', 'pods'],
    ['get', 'pods/log'],
    ['create', 'configmaps'],
    ['list', 'networkpolicies.networking.k8s.io'],
  ] as const)
    t.equal(can(verb, resource), 'yes', `${verb} ${resource}`);
  t.equal(can('get', 'secrets'), 'no', 'no Secret');
  t.equal(can('deletecollection', 'pods'), 'no', 'deletes by name only');
});

t.test('without a control pod the internal target has no control: inconclusive, and the reason says what would prove it', async (t) => {
  const r = controlled();
  t.equal(r.code, 3, `exit 3: ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
  const internal = byId(r, INTERNAL_ID);
  t.match(internal, { verdict: 'inconclusive', controlSource: 'none' }, explain(internal));
  t.match(internal?.reason, /control pod/, 'the reason names the control pod as what would prove it');
});

t.test('the control pod proves the internal target and the resolver over UDP; the run passes', async (t) => {
  const r = controlled(['--control-namespace', CONTROL_NS]);
  t.equal(r.code, 0, `exit 0: ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
  for (const id of [INTERNAL_ID, DNS_UDP_ID]) {
    const result = byId(r, id);
    t.match(result, { verdict: 'pass', controlSource: 'control-pod' }, `${id}: ${explain(result)}`);
  }
  for (const result of r.report?.results.filter((x) => x.expect === 'blocked') ?? [])
    t.ok(result.controlSource, `${result.id} names its control source (${result.controlSource})`);
  // Its plan has must-reach dials only, so its own verdict proves no block: inconclusive, exit 3.
  // The controller reads only its observations.
  t.match(r.report?.subject?.pods, [{ name: /-control-0$/, outcome: 'exited 3' }], 'the control pod is in the report');
  t.same(probePods(CONTROL_NS), [], 'no control pod left behind');
  t.same(probePods(), [], 'no probe pod left behind');
  t.equal(kc(['-n', CONTROL_NS, 'get', 'configmaps', '-l', 'egress-verify.dev/run', '-o', 'name']).trim(), '', 'no run object left');
});

t.test('a default-deny over the control namespace: no control from there, a warning, never a pass on it', async (t) => {
  apply(
    dump({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny-egress', namespace: CONTROL_NS },
      spec: { podSelector: {}, policyTypes: ['Egress'] },
    }),
  );
  t.teardown(() => kc(['-n', CONTROL_NS, 'delete', 'networkpolicy', 'default-deny-egress', '--ignore-not-found']));
  await sleep(3000); // kube-router applies policy changes asynchronously
  const r = controlled(['--control-namespace', CONTROL_NS]);
  t.equal(r.code, 3, `exit 3: ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
  t.ok(
    r.report?.warnings?.some((w) => /default-deny-egress.* select the control pod/.test(w)),
    'preflight names the policy that selects the control pod',
  );
  t.ok(
    r.report?.warnings?.some((w) => /reached none of its \d+ targets/.test(w)),
    'the run says the control pod reached nothing',
  );
  const internal = byId(r, INTERNAL_ID);
  t.match(internal, { verdict: 'inconclusive', controlSource: 'none' }, explain(internal));
  const outside = r.report?.results.filter((x) => x.expect === 'blocked' && x.target.includes('203.0.113.10')) ?? [];
  t.ok(outside.length > 0, 'checks aimed at the outside site');
  for (const result of outside)
    t.match(result, { verdict: 'pass', controlSource: 'companion' }, `${result.id} falls back to the companion: ${explain(result)}`);
  t.same(probePods(CONTROL_NS), [], 'no control pod left behind');
});
