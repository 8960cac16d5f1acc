import t from 'tap';
import type { Observation, ProbePlan } from '../../probes/base/model.js';
import { judge } from '../../probes/runner.js';
import { renderJsonLines, renderTerminationMessage } from '../../probes/wire.js';
import { FakeKube, until } from '../../test/fake-kube.js';
import { podStatus } from '../../test/pod-status.js';
import { toolVersion } from '../base/package-root.js';
import { RUN_LABEL } from './probe-pod.js';
import { controllerPodOwner, type ProbeRunSettings, runProbes } from './run.js';
import type { WorkloadTarget } from './target.js';
import { networkTwin } from './twin.js';

t.test('the controller pod owns the run object only from the same namespace', async (t) => {
  const env = { EGRESS_VERIFY_POD_NAME: 'audit-1', EGRESS_VERIFY_POD_UID: 'u-1', EGRESS_VERIFY_POD_NAMESPACE: 'egress-verify-system' };
  // An owner in another namespace counts as absent: the garbage collector would delete the probes.
  t.equal(controllerPodOwner('production-agents', env), undefined);
  t.same(controllerPodOwner('egress-verify-system', env), { apiVersion: 'v1', kind: 'Pod', name: 'audit-1', uid: 'u-1' });
  t.equal(controllerPodOwner('production-agents', { ...env, EGRESS_VERIFY_POD_NAMESPACE: undefined }), undefined);
});

const NS = 'production-agents';
const target: WorkloadTarget = {
  namespace: NS,
  description: 'deployment/data-processor',
  labels: { app: 'data-processor' },
  proxyEnv: [{ name: 'HTTPS_PROXY', value: 'http://egress-guardian-svc:8080' }],
  liveSelector: 'app=data-processor',
  twin: networkTwin({}),
};
const companion = { url: 'http://egress-guardian-svc:8080' };
const plan: ProbePlan = {
  version: 1,
  checks: [
    { id: 'direct', kind: 'tcp', expect: 'blocked', host: '203.0.113.10', port: 443, deadlineMs: 1000, control: 'via' },
    {
      id: 'via',
      kind: 'proxy-connect',
      proof: 'banner',
      expect: 'reachable',
      host: '203.0.113.10',
      port: 443,
      deadlineMs: 1000,
      companion,
    },
  ],
};
const observed = (direct: Observation['class']): Map<string, Observation> =>
  new Map<string, Observation>([
    ['direct', { outcome: direct === 'reached' ? 'connected' : 'timeout', class: direct, durationMs: 9, detail: 'd' }],
    ['via', { outcome: 'connected', class: 'reached', durationMs: 4, detail: 'v' }],
  ]);
/** What the probe in the pod prints: its results as JSON lines. */
const probeLog = (direct: Observation['class']): string =>
  renderJsonLines({ tool: { name: 'egress-verify', version: toolVersion }, results: judge(plan, observed(direct)) });

const now = new Date('2026-12-01T03:00:00Z');
function settings(extra: Partial<ProbeRunSettings> = {}): ProbeRunSettings {
  return {
    workloads: [{ target, plan }],
    image: 'localhost/egress-verify:dev',
    imagePullPolicy: 'Never',
    perNode: false,
    inPod: false,
    companionConcurrency: 32,
    startTimeoutMs: 5000,
    settleMs: 0,
    pathWaitMs: 0,
    staleAfterMs: 600_000,
    signal: new AbortController().signal,
    now: () => now,
    env: {},
    ...extra,
  };
}
const probePods = (kube: FakeKube): string[] => kube.podNames(NS).filter((p) => p.startsWith('egress-verify-'));

t.test('a run: stale pods swept, a probe pod per workload, its log read back as results, everything deleted', async (t) => {
  const kube = new FakeKube(() => now);
  kube.seedPod(NS, 'egress-verify-killed-0', { [RUN_LABEL]: 'killed' }, 3_600_000);
  kube.seedPod(NS, 'data-processor-abc', { app: 'data-processor' }, 3_600_000);
  const run = runProbes(kube, settings());
  await until(() => probePods(kube).length === 1 && kube.openWatches() === 1, 'the probe pod and the watch');
  const [pod = ''] = probePods(kube);
  t.match(kube.pods.get(`${NS}/${pod}`)?.metadata?.labels, { app: 'data-processor', [RUN_LABEL]: /./ }, "the workload's identity");
  t.equal(kube.configMaps.size, 1, 'the run object holds the plan');
  kube.logs.set(`${NS}/${pod}/probe`, probeLog('reached'));
  kube.setStatus(NS, pod, podStatus.running());
  kube.setStatus(NS, pod, podStatus.exited(1));
  const outcome = await run;
  t.same(
    outcome.results.map((r) => [r.id, r.verdict, r.pod]),
    [
      ['direct', 'fail', pod],
      ['via', 'pass', pod],
    ],
    'the bypass is read back as a fail',
  );
  t.same(outcome.pods, [{ name: pod, node: 'node-a', outcome: 'exited 1' }]);
  t.same(outcome.warnings, ['swept 1 probe pod(s) left behind by an earlier run']);
  t.same(kube.podNames(NS), ['data-processor-abc'], 'the probe pod and the swept one are gone, the workload stays');
  t.equal(kube.configMaps.size, 0, 'the run object is gone');
});

t.test('a probe pod that admission changed in what decides egress is twin-inexact, never a pass', async (t) => {
  const passing = async (kube: FakeKube) => {
    const run = runProbes(kube, settings());
    await until(() => probePods(kube).length === 1 && kube.openWatches() === 1, 'the probe pod');
    const [pod = ''] = probePods(kube);
    kube.logs.set(`${NS}/${pod}/probe`, probeLog('blocked'));
    kube.setStatus(NS, pod, podStatus.exited(0));
    return { pod, outcome: await run };
  };
  const plain = await passing(new FakeKube(() => now));
  t.same(plain.outcome.admissionFindings, [], 'a pod admitted as sent (and scheduled) differs in nothing');

  const kube = new FakeKube(() => now);
  // A mesh injected into the namespace, which the workload opts out of.
  kube.admit = (pod) => ({
    ...pod,
    spec: {
      ...(pod.spec ?? { containers: [] }),
      initContainers: [{ name: 'istio-init', securityContext: { capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } } }],
      containers: [...(pod.spec?.containers ?? []), { name: 'istio-proxy' }],
    },
  });
  const { pod, outcome } = await passing(kube);
  t.same(
    outcome.results.map((r) => r.verdict),
    ['pass', 'pass'],
    'its checks passed',
  );
  t.match(outcome.admissionFindings, [
    {
      ruleId: 'twin-inexact',
      decides: 'inconclusive',
      message: new RegExp(`probe pod ${pod} differs from the pod sent .*containers added at admission .*istio-init, istio-proxy`),
    },
  ]);
});

t.test('without a log the termination message is read', async (t) => {
  const kube = new FakeKube(() => now);
  const run = runProbes(kube, settings());
  await until(() => probePods(kube).length === 1 && kube.openWatches() === 1, 'the probe pod');
  const [pod = ''] = probePods(kube);
  kube.setStatus(NS, pod, podStatus.exited(0, renderTerminationMessage(judge(plan, observed('blocked')))));
  t.same(
    (await run).results.map((r) => [r.id, r.verdict]),
    [
      ['direct', 'pass'],
      ['via', 'pass'],
    ],
  );
});

t.test('a stuck probe pod: every check an error that names the Kubernetes reason, never a pass', async (t) => {
  const kube = new FakeKube(() => now);
  const run = runProbes(kube, settings({ startTimeoutMs: 100 }));
  await until(() => probePods(kube).length === 1 && kube.openWatches() === 1, 'the probe pod');
  const [pod = ''] = probePods(kube);
  kube.setStatus(NS, pod, podStatus.waiting('ImagePullBackOff', 'Back-off pulling image "localhost/egress-verify:dev"'));
  const outcome = await run;
  t.same(
    outcome.results.map((r) => r.verdict),
    ['error', 'error'],
  );
  t.match(outcome.results[0]?.reason, /did not run: ImagePullBackOff: Back-off pulling image/);
  t.match(outcome.pods[0]?.outcome, /^did not run: ImagePullBackOff/);
  t.same(probePods(kube), [], 'deleted all the same');
});

t.test('interrupted (the CLI aborts on SIGINT and SIGTERM): the probe pods and run object it created are deleted', async (t) => {
  const kube = new FakeKube(() => now);
  kube.seedPod(NS, 'egress-verify-other-run-0', { [RUN_LABEL]: 'other-run' }, 1000);
  kube.seedPod(NS, 'data-processor-a', { app: 'data-processor' }, 0);
  kube.setStatus(NS, 'data-processor-a', podStatus.running(), 'node-a');
  kube.seedPod(NS, 'data-processor-b', { app: 'data-processor' }, 0);
  kube.setStatus(NS, 'data-processor-b', podStatus.running(), 'node-b');
  const interrupt = new AbortController();
  const run = runProbes(kube, settings({ signal: interrupt.signal, perNode: true }));
  await until(() => probePods(kube).length === 3 && kube.openWatches() === 1, 'a probe pod per node');
  interrupt.abort();
  await t.rejects(run, { name: 'InfrastructureError', message: /^interrupted/ });
  t.same(probePods(kube), ['egress-verify-other-run-0'], "this run's pods are gone; a younger run's stays");
  t.equal(kube.configMaps.size, 0);
  t.equal(kube.deletes.filter((d) => d.startsWith('pod ')).length, 2);
});

t.test('more probe pods than the companion budget: a pod starts as one ends, each plan carrying its share', async (t) => {
  const kube = new FakeKube(() => now);
  const workloads = ['a', 'b', 'c', 'd'].map((name) => ({ target: { ...target, description: `deployment/${name}` }, plan }));
  const progress: string[] = [];
  const run = runProbes(
    kube,
    settings({ workloads, companionConcurrency: 2, onProgress: (pod, state) => progress.push(`${pod}: ${state}`) }),
  );
  const end = (pod: string): void => {
    kube.logs.set(`${NS}/${pod}/probe`, probeLog('blocked'));
    kube.setStatus(NS, pod, podStatus.exited(0));
  };
  await until(() => probePods(kube).length === 2 && kube.openWatches() === 1, 'two pods, one per lane');
  const [first = '', second = ''] = probePods(kube);
  kube.setStatus(NS, first, podStatus.running());
  kube.setStatus(NS, second, podStatus.running());
  // Ended pods are read and deleted at once: every pod created, deleted or not.
  const created = (): string[] =>
    [...new Set([...probePods(kube), ...kube.deletes.map((d) => d.replace(`pod ${NS}/`, ''))])].filter((p) =>
      p.startsWith('egress-verify-'),
    );
  end(first);
  // The second still runs: only the first one's lane is free.
  await until(() => created().length === 3, 'a third pod in the freed lane');
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(created().length, 3, 'no fourth while two run');
  t.notOk(probePods(kube).includes(first), 'the first deleted as it ended, its log read, while the run goes on');
  const third = created().find((p) => p !== first && p !== second) ?? '';
  end(third);
  await until(() => created().length === 4, 'the fourth in the lane the third freed');
  for (const pod of probePods(kube).filter((p) => p !== first && p !== third)) end(pod);
  const outcome = await run;
  t.equal(outcome.pods.length, 4);
  t.same(
    outcome.plans.map((p) => p.companionSlots),
    [1, 1, 1, 1],
    'two pods at once, one tunnel each',
  );
  t.ok(
    outcome.results.every((r) => r.verdict === 'pass'),
    'every pod read back',
  );
  t.ok(progress.includes('4 probe pods: 2 probe(s) at once, 1 companion tunnel(s) each (--companion-concurrency 2), the next as one ends'));
});

t.test('fewer probe pods than the budget: one wave, the budget split between them', async (t) => {
  const kube = new FakeKube(() => now);
  const run = runProbes(kube, settings({ companionConcurrency: 8 }));
  await until(() => probePods(kube).length === 1 && kube.openWatches() === 1, 'the probe pod');
  const [pod = ''] = probePods(kube);
  kube.setStatus(NS, pod, podStatus.exited(0, renderTerminationMessage(judge(plan, observed('blocked')))));
  t.same(
    (await run).plans.map((p) => p.companionSlots),
    [8],
  );
});
