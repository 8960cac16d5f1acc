import t from 'tap';
import type { CheckResult, ProbePlan } from '../../probes/base/model.js';
import type { WorkloadTarget } from './target.js';
import { networkTwin } from './twin.js';
import { fanOut, twinClasses, twinKey } from './twin-class.js';

const plan: ProbePlan = {
  version: 1,
  checks: [{ id: 'tcp/x', kind: 'tcp', expect: 'blocked', host: '203.0.113.10', port: 443, deadlineMs: 1000 }],
};
const target = (name: string, over: Partial<WorkloadTarget> = {}): WorkloadTarget => ({
  namespace: 'a',
  description: `deployment/${name}`,
  labels: { role: 'agent-workload' },
  proxyEnv: [{ name: 'HTTPS_PROXY', value: 'http://companion:8080' }],
  liveSelector: `app=${name}`,
  ref: { apiVersion: 'apps/v1', kind: 'Deployment', name, uid: name },
  twin: networkTwin({ spec: { containers: [{ name: 'app' }] } }),
  ...over,
});
const w = (name: string, over: Partial<WorkloadTarget> = {}, p: ProbePlan = plan) => ({ target: target(name, over), plan: p });

t.test('the key: what identifies a workload is left out, everything that decides egress is in', async (t) => {
  t.equal(twinKey(w('x')), twinKey(w('y')), 'names, references and live selectors do not count');
  t.equal(twinKey(w('x', { labels: { a: '1', b: '2' } })), twinKey(w('y', { labels: { b: '2', a: '1' } })), 'label order does not count');
  const differs: [string, Partial<WorkloadTarget>][] = [
    ['namespace', { namespace: 'b' }],
    ['a label a policy may select on', { labels: { role: 'agent-workload', app: 'y' } }],
    ['service account', { serviceAccountName: 'other' }],
    ['proxy environment', { proxyEnv: [{ name: 'HTTPS_PROXY', value: 'http://other:8080' }] }],
  ];
  for (const [what, over] of differs) t.not(twinKey(w('x')), twinKey(w('y', over)), what);
  // The network twin: whatever it copies decides where the probe's packets go.
  const twins: [string, Parameters<typeof networkTwin>[0]][] = [
    ['hostNetwork', { spec: { containers: [{ name: 'app' }], hostNetwork: true } }],
    ['dnsPolicy', { spec: { containers: [{ name: 'app' }], dnsPolicy: 'Default' } }],
    [
      'a Multus network',
      { metadata: { annotations: { 'k8s.v1.cni.cncf.io/networks': 'macvlan' } }, spec: { containers: [{ name: 'app' }] } },
    ],
    ['node placement', { spec: { containers: [{ name: 'app' }], nodeSelector: { zone: 'b' } } }],
  ];
  for (const [what, template] of twins) t.not(twinKey(w('x')), twinKey(w('y', { twin: networkTwin(template) })), `the twin's ${what}`);
  t.not(twinKey(w('x')), twinKey(w('y', {}, { version: 1, checks: [] })), 'the plan');
});

t.test('classes, and --no-grouping', async (t) => {
  const ws = [w('a'), w('b', { serviceAccountName: 'sa' }), w('c'), w('d', { serviceAccountName: 'sa' })];
  t.same(
    twinClasses(ws, true).map((c) => c.members.map((m) => m.target.description)),
    [
      ['deployment/a', 'deployment/c'],
      ['deployment/b', 'deployment/d'],
    ],
  );
  t.equal(twinClasses(ws, false).length, 4);
});

t.test("one probe's results are reported under each member, and its pod row says whom it stood for", async (t) => {
  const classes = twinClasses([w('a'), w('b', { serviceAccountName: 'sa' }), w('c')], true);
  const result = (workload: string, pod: string): CheckResult => ({
    id: 'tcp/x',
    kind: 'tcp',
    expect: 'blocked',
    target: '203.0.113.10:443/tcp',
    verdict: 'pass',
    reason: '',
    observation: { outcome: 'timeout', class: 'blocked', durationMs: 1, detail: '' },
    pod,
    workload,
  });
  const out = fanOut(
    classes,
    [result('deployment/a', 'p0'), result('deployment/b', 'p1')],
    [
      { name: 'p0', outcome: 'exited 0' },
      { name: 'p1', outcome: 'exited 0' },
    ],
  );
  t.same(
    out.results.map((r) => `${r.workload}@${r.pod}`),
    ['deployment/a@p0', 'deployment/c@p0', 'deployment/b@p1'],
  );
  t.same(out.pods, [
    { name: 'p0', outcome: 'exited 0', standsFor: ['deployment/a', 'deployment/c'] },
    { name: 'p1', outcome: 'exited 0' },
  ]);
});
