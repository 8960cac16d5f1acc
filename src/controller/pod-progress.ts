/**
 * Where a probe pod is, from its status alone (pure), so the watch loop can report a pod that
 * will never start with the Kubernetes reason instead of waiting on it silently.
 */
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { ProbePlan } from '../../probes/base/model.js';
import { PROBE_CONTAINER } from './probe-pod.js';

export type PodProgress =
  | { state: 'pending'; reason?: string }
  | { state: 'running' }
  | { state: 'done'; exitCode: number; terminationMessage?: string }
  /** It will not run: the reason is final, or retrying cannot fix it. */
  | { state: 'stuck'; reason: string };

/** A probe as the run last saw it: where it ran, how far it got, and the pod object. */
export interface PodState {
  node?: string;
  progress: PodProgress;
  object?: V1Pod;
}

/** One probe: a probe pod's container, or (--in-pod) an ephemeral container of a workload pod. */
export interface Probe {
  pod: string;
  container: string;
  plan: ProbePlan;
  workload: string;
}

/** Waiting reasons that no amount of waiting fixes. */
const FATAL_WAITING = new Set([
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);
/** Reasons that may clear on their own; reported as stuck only when the start deadline passes. */
const SLOW_WAITING = new Set(['ErrImagePull', 'ImagePullBackOff', 'ContainerCreating', 'PodInitializing']);

/** Its probe container's progress: a sidecar admission added to the pod may end first, or never. */
export function podProgress(pod: V1Pod): PodProgress {
  const phase = pod.status?.phase;
  const container = pod.status?.containerStatuses?.find((c) => c.name === PROBE_CONTAINER);
  if (phase === 'Succeeded' || phase === 'Failed' || container?.state?.terminated !== undefined) {
    // Failed before the container ran, e.g. activeDeadlineSeconds while Pending.
    return (
      containerProgress(container) ?? {
        state: 'stuck',
        reason: `${pod.status?.reason ?? phase ?? 'Failed'}: ${pod.status?.message ?? 'the probe never ran'}`,
      }
    );
  }
  const own = containerProgress(container);
  if (own !== undefined) return own;
  const waiting = container?.state?.waiting;
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { state: 'pending', reason: `Unschedulable: ${scheduled.message ?? ''}`.trim() };
  }
  if (waiting?.reason !== undefined && SLOW_WAITING.has(waiting.reason)) {
    return { state: 'pending', reason: `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` };
  }
  return { state: 'pending' };
}

/** What one container's status says for certain: finished, running, or never going to start. */
function containerProgress(container: V1ContainerStatus | undefined): PodProgress | undefined {
  const terminated = container?.state?.terminated;
  if (terminated !== undefined)
    return { state: 'done', exitCode: terminated.exitCode, ...(terminated.message ? { terminationMessage: terminated.message } : {}) };
  const waiting = container?.state?.waiting;
  if (waiting?.reason !== undefined && FATAL_WAITING.has(waiting.reason))
    return { state: 'stuck', reason: `${waiting.reason}: ${waiting.message ?? ''}`.trim() };
  if (container?.state?.running !== undefined) return { state: 'running' };
  return undefined;
}

/** `--in-pod`: the probe is an ephemeral container of a live pod; only its own status counts. */
export function ephemeralProgress(pod: V1Pod, container: string): PodProgress {
  const status = pod.status?.ephemeralContainerStatuses?.find((c) => c.name === container);
  const known = containerProgress(status);
  if (known !== undefined) return known;
  // The pod is gone or finished: the ephemeral container can no longer start.
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' || pod.metadata?.deletionTimestamp)
    return {
      state: 'stuck',
      reason: `pod ${pod.metadata?.name} ${pod.metadata?.deletionTimestamp ? 'is being deleted' : `is ${pod.status?.phase}`}`,
    };
  const waiting = status?.state?.waiting;
  return { state: 'pending', ...(waiting?.reason ? { reason: `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` } : {}) };
}
