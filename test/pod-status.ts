/** Pod statuses as the kubelet reports them, for driving test/fake-kube.ts through a probe's life. */
import type { V1ContainerState, V1PodStatus } from '@kubernetes/client-node';

const probe = (state: V1ContainerState) => [
  { name: 'probe', image: 'probe', imageID: 'sha256:probe', ready: false, restartCount: 0, state },
];

export const podStatus = {
  running: (): V1PodStatus => ({ phase: 'Running', containerStatuses: probe({ running: {} }) }),
  exited: (exitCode: number, message?: string): V1PodStatus => ({
    phase: exitCode === 0 ? 'Succeeded' : 'Failed',
    containerStatuses: probe({ terminated: { exitCode, ...(message !== undefined && { message }) } }),
  }),
  waiting: (reason: string, message: string): V1PodStatus => ({
    phase: 'Pending',
    containerStatuses: probe({ waiting: { reason, message } }),
  }),
  unschedulable: (message: string): V1PodStatus => ({
    phase: 'Pending',
    conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }],
  }),
};
