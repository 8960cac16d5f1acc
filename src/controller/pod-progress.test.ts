import type { V1Pod } from '@kubernetes/client-node';
import t from 'tap';
import { podProgress } from './pod-progress.js';

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
