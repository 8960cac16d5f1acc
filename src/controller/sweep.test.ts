import t from 'tap';
import { FakeKube } from '../../test/fake-kube.js';
import { RUN_LABEL } from './probe-pod.js';
import { cleanup, sweepStale } from './sweep.js';

const now = new Date('2026-12-01T03:00:00Z');
const MINUTE = 60_000;

t.test("the sweep removes what a killed run left, and leaves a live run's and everything else alone", async (t) => {
  const kube = new FakeKube(() => now);
  kube.seedPod('apps', 'egress-verify-old-0', { [RUN_LABEL]: 'old' }, 30 * MINUTE);
  kube.seedConfigMap('apps', 'egress-verify-run-old', { [RUN_LABEL]: 'old' }, 30 * MINUTE);
  kube.seedPod('apps', 'egress-verify-live-0', { [RUN_LABEL]: 'live' }, 2 * MINUTE);
  kube.seedConfigMap('apps', 'egress-verify-run-live', { [RUN_LABEL]: 'live' }, 2 * MINUTE);
  kube.seedPod('apps', 'data-processor-abc', { app: 'data-processor' }, 600 * MINUTE);
  kube.seedPod('other', 'egress-verify-old-1', { [RUN_LABEL]: 'old' }, 30 * MINUTE);

  t.equal(await sweepStale(kube, 'apps', 10 * MINUTE, now), 1);
  t.same(kube.deletes.sort(), ['configmap apps/egress-verify-run-old', 'pod apps/egress-verify-old-0']);
  t.same(kube.podNames('apps').sort(), ['data-processor-abc', 'egress-verify-live-0'], "a live run's probe and the workload stay");
  t.same(kube.podNames('other'), ['egress-verify-old-1'], 'another namespace is not swept');
  t.equal(await sweepStale(kube, 'apps', 10 * MINUTE, now), 0, 'nothing left to sweep');
});

t.test('cleanup deletes the pods, then the run object; one already gone is no error', async (t) => {
  const kube = new FakeKube(() => now);
  kube.seedPod('apps', 'egress-verify-r-0', { [RUN_LABEL]: 'r' }, 0);
  kube.seedConfigMap('apps', 'egress-verify-run-r', { [RUN_LABEL]: 'r' }, 0);
  await cleanup(kube, 'apps', ['egress-verify-r-0', 'egress-verify-r-1'], 'egress-verify-run-r');
  t.same(kube.deletes, ['pod apps/egress-verify-r-0', 'configmap apps/egress-verify-run-r']);
  t.equal(kube.pods.size + kube.configMaps.size, 0);
});
