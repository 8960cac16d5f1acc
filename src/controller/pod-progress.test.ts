import type { V1Pod } from '@kubernetes/client-node';
import t from 'tap';
import { ephemeralProgress, podProgress } from './pod-progress.js';

const pod = (status: V1Pod['status']): V1Pod => ({ status });

t.test('pod states as the watch sees them', async (t) => {
  t.same(podProgress(pod({ phase: 'Pending' })), { state: 'pending' });
  t.match(
    podProgress(
      pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes' }] }),
    ),
    {
      state: 'pending',
      reason: /^Unschedulable: 0\/1 nodes/,
    },
  );
  t.match(
    podProgress(
      pod({
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'probe',
            image: 'i',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ErrImageNeverPull', message: 'not present' } },
          },
        ],
      }),
    ),
    {
      state: 'stuck',
      reason: /ErrImageNeverPull/,
    },
  );
  t.match(
    podProgress(
      pod({
        phase: 'Pending',
        containerStatuses: [
          { name: 'probe', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff' } } },
        ],
      }),
    ),
    {
      state: 'pending',
      reason: 'ImagePullBackOff',
    },
  );
  t.same(
    podProgress(
      pod({
        phase: 'Running',
        containerStatuses: [{ name: 'probe', image: 'i', imageID: '', ready: false, restartCount: 0, state: { running: {} } }],
      }),
    ),
    { state: 'running' },
  );
  t.same(
    podProgress(
      pod({
        phase: 'Failed',
        containerStatuses: [
          {
            name: 'probe',
            image: 'i',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 1, message: '{"verdict":"fail"}' } },
          },
        ],
      }),
    ),
    {
      state: 'done',
      exitCode: 1,
      terminationMessage: '{"verdict":"fail"}',
    },
  );
  t.match(podProgress(pod({ phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active too long' })), {
    state: 'stuck',
    reason: /^DeadlineExceeded/,
  });
});

t.test('--in-pod: only the ephemeral probe container counts, not the running workload pod', async (t) => {
  const status = (state: NonNullable<V1Pod['status']>['ephemeralContainerStatuses']) =>
    ({
      metadata: { name: 'data-processor-1' },
      status: {
        phase: 'Running',
        containerStatuses: [{ name: 'app', image: 'a', imageID: '', ready: true, restartCount: 0, state: { running: {} } }],
        ephemeralContainerStatuses: state,
      },
    }) as V1Pod;
  const probe = (state: object) => [{ name: 'egress-verify-r-0', image: 'i', imageID: '', ready: false, restartCount: 0, state }];
  t.same(ephemeralProgress(status([]), 'egress-verify-r-0'), { state: 'pending' }, 'not yet in the status');
  t.same(ephemeralProgress(status(probe({ running: {} })), 'egress-verify-r-0'), { state: 'running' });
  t.same(ephemeralProgress(status(probe({ terminated: { exitCode: 1, message: '{}' } })), 'egress-verify-r-0'), {
    state: 'done',
    exitCode: 1,
    terminationMessage: '{}',
  });
  t.match(ephemeralProgress(status(probe({ waiting: { reason: 'ErrImageNeverPull' } })), 'egress-verify-r-0'), { state: 'stuck' });
  t.match(ephemeralProgress(status(probe({ waiting: { reason: 'ImagePullBackOff', message: 'm' } })), 'egress-verify-r-0'), {
    state: 'pending',
    reason: 'ImagePullBackOff: m',
  });
  t.match(ephemeralProgress({ ...status([]), status: { phase: 'Succeeded' } }, 'egress-verify-r-0'), {
    state: 'stuck',
    reason: /Succeeded/,
  });
});

t.test("a sidecar admission added to the probe pod: only the probe container's state counts", async (t) => {
  const status = (name: string, state: object) => ({ name, image: 'i', imageID: '', ready: false, restartCount: 0, state });
  const sidecarDone = status('istio-proxy', { terminated: { exitCode: 0 } });
  t.same(podProgress(pod({ phase: 'Running', containerStatuses: [sidecarDone, status('probe', { running: {} })] })), { state: 'running' });
  t.same(
    podProgress(
      pod({
        phase: 'Running',
        containerStatuses: [status('istio-proxy', { running: {} }), status('probe', { terminated: { exitCode: 1 } })],
      }),
    ),
    { state: 'done', exitCode: 1 },
    'the probe ended, the sidecar runs on',
  );
  t.same(podProgress(pod({ phase: 'Pending', containerStatuses: [sidecarDone] })), { state: 'pending' });
});
