import t from 'tap';
import {
  buildEphemeralProbe,
  buildProbePod,
  buildRunObject,
  NEVER_READY_GATE,
  PROBE_NODE_OPTIONS,
  planKey,
  RUN_LABEL,
} from './probe-pod.js';
import type { WorkloadTarget } from './target.js';
import { withoutControllerHashes } from './target.js';
import { networkTwin } from './twin.js';

const target: WorkloadTarget = {
  namespace: 'production-agents',
  description: 'deployment/data-processor',
  labels: withoutControllerHashes({ role: 'agent-workload', app: 'data-processor', 'pod-template-hash': 'abc' }),
  proxyEnv: [{ name: 'HTTPS_PROXY', value: 'http://egress-guardian-svc:8080' }],
  serviceAccountName: 'data-processor',
  liveSelector: 'role=agent-workload',
  twin: networkTwin({}),
};
const pod = buildProbePod({
  runId: 'r1',
  index: 0,
  target,
  image: 'localhost/egress-verify:dev',
  imagePullPolicy: 'Never',
  planKey: planKey(0),
  runObject: { name: 'egress-verify-run-r1', uid: 'u-1' },
  activeDeadlineSeconds: 120,
  settleMs: 2000,
  pathWaitMs: 20_000,
  node: 'node-a',
});

t.test('the probe carries the workload identity and none of its controller hashes', async (t) => {
  t.match(pod.metadata?.labels, { role: 'agent-workload', app: 'data-processor', [RUN_LABEL]: 'r1' });
  t.notOk(pod.metadata?.labels?.['pod-template-hash']);
  t.equal(pod.spec?.serviceAccountName, 'data-processor');
  t.same(pod.spec?.containers[0]?.env, [
    { name: 'NODE_OPTIONS', value: PROBE_NODE_OPTIONS },
    { name: 'HTTPS_PROXY', value: 'http://egress-guardian-svc:8080' },
  ]);
});

t.test("the probe's Node runs with small semi-spaces, in a probe pod and as an ephemeral probe", async (t) => {
  t.equal(PROBE_NODE_OPTIONS, '--max-semi-space-size=1', 'MiB: the young generation a short-lived probe needs');
  const ephemeral = buildEphemeralProbe({
    runId: 'r4',
    target,
    image: 'i',
    imagePullPolicy: 'Never',
    planJson: '{}',
    settleMs: 0,
    pathWaitMs: 0,
  });
  for (const env of [pod.spec?.containers[0]?.env, ephemeral.env]) {
    t.same(
      env?.filter((e) => e.name === 'NODE_OPTIONS'),
      [{ name: 'NODE_OPTIONS', value: PROBE_NODE_OPTIONS }],
    );
  }
});

t.test('the plan is mounted read-only from the run object, not carried in the environment', async (t) => {
  // An environment variable holds at most 128 KiB; a CA chain and a few extended targets pass it.
  const run = buildRunObject('r1', 'production-agents', ['{"version":1}', '{"version":1,"checks":[]}']);
  t.same(Object.keys(run.data ?? {}), ['plan-0.json', 'plan-1.json']);
  const c = pod.spec?.containers[0];
  t.same(pod.spec?.volumes, [
    { name: 'plan', configMap: { name: 'egress-verify-run-r1', items: [{ key: 'plan-0.json', path: 'plan.json' }] } },
  ]);
  t.same(c?.volumeMounts, [{ name: 'plan', mountPath: '/etc/egress-verify', readOnly: true }]);
  t.match(c?.args, ['probe', '--plan', '/etc/egress-verify/plan.json']);
});

t.test('a controller owner of its own, and never Ready for Services', async (t) => {
  t.same(pod.metadata?.ownerReferences, [
    { apiVersion: 'v1', kind: 'ConfigMap', name: 'egress-verify-run-r1', uid: 'u-1', controller: true },
  ]);
  t.same(pod.spec?.readinessGates, [{ conditionType: NEVER_READY_GATE }]);
});

t.test('Pod Security "restricted", no service account token, bounded in time and resources', async (t) => {
  const spec = pod.spec;
  t.equal(spec?.automountServiceAccountToken, false);
  t.equal(spec?.restartPolicy, 'Never');
  t.equal(spec?.activeDeadlineSeconds, 120);
  t.match(spec?.containers[0]?.args?.slice(3), [
    '--termination-log',
    '/dev/termination-log',
    '--settle-ms',
    '2000',
    '--path-wait-ms',
    '20000',
  ]);
  t.match(spec?.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  // A "safe" sysctl (restricted allows it): the probe's own group may open ICMP datagram sockets.
  t.same(spec?.securityContext?.sysctls, [{ name: 'net.ipv4.ping_group_range', value: '65532 65532' }]);
  const c = spec?.containers[0];
  t.match(c?.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  t.ok(c?.resources?.limits?.memory);
  t.match(spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms, [
    { matchFields: [{ key: 'metadata.name', values: ['node-a'] }] },
  ]);
});

t.test('the probe is the network twin: DNS, host aliases, runtime, CNI annotations, node constraints', async (t) => {
  const twin = networkTwin({
    metadata: { annotations: { 'k8s.v1.cni.cncf.io/networks': 'macvlan-conf', 'example.com/other': 'x' } },
    spec: {
      hostNetwork: true,
      dnsPolicy: 'ClusterFirstWithHostNet',
      hostAliases: [{ ip: '203.0.113.10', hostnames: ['outside.example'] }],
      runtimeClassName: 'gvisor',
      nodeSelector: { pool: 'agents' },
      tolerations: [{ key: 'agents', operator: 'Exists' }],
      containers: [{ name: 'app' }],
    },
  });
  const probe = buildProbePod({
    runId: 'r2',
    index: 0,
    target: { ...target, twin },
    image: 'i',
    imagePullPolicy: 'Never',
    planKey: planKey(0),
    runObject: { name: 'o', uid: 'u' },
    activeDeadlineSeconds: 60,
    settleMs: 0,
    pathWaitMs: 0,
  });
  t.match(probe.spec, {
    hostNetwork: true,
    dnsPolicy: 'ClusterFirstWithHostNet',
    hostAliases: [{ ip: '203.0.113.10' }],
    runtimeClassName: 'gvisor',
    nodeSelector: { pool: 'agents' },
    tolerations: [{ key: 'agents' }],
  });
  t.notOk(probe.spec?.securityContext?.sysctls, 'no net sysctl on the node network: Kubernetes refuses it');
  t.equal(probe.metadata?.annotations?.['k8s.v1.cni.cncf.io/networks'], 'macvlan-conf');
  t.notOk(probe.metadata?.annotations?.['example.com/other'], 'only annotations CNIs act on');
  t.match(
    probe.spec?.containers[0]?.securityContext,
    { allowPrivilegeEscalation: false, runAsNonRoot: true },
    'still restricted otherwise',
  );
});

t.test('--in-pod: the ephemeral probe is restricted on its own and mounts nothing', async (t) => {
  const c = buildEphemeralProbe({
    runId: 'r3-0',
    target,
    image: 'i',
    imagePullPolicy: 'Never',
    planJson: '{"version":1}',
    settleMs: 2000,
    pathWaitMs: 5000,
  });
  t.equal(c.name, 'egress-verify-r3-0');
  t.match(c.securityContext, {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser: 65532,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  });
  t.notOk(c.volumeMounts, 'no service account token, no volume of the workload');
  t.match(c.env, [{ name: 'EGRESS_VERIFY_PLAN', value: '{"version":1}' }, { name: 'NODE_OPTIONS' }, { name: 'HTTPS_PROXY' }]);
  t.same(
    c.args,
    ['probe', '--termination-log', '/dev/termination-log', '--settle-ms', '2000', '--path-wait-ms', '5000'],
    'the plan comes from the environment',
  );
  t.same(c.securityContext, pod.spec?.containers[0]?.securityContext, 'the same restricted process as in a probe pod');
});
