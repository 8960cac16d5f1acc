/**
 * Where a probe pod is, from its status alone (pure), so the watch loop can report a pod that
 * will never start with the Kubernetes reason instead of waiting on it silently.
 */
import type { V1Pod } from '@kubernetes/client-node';

export type PodProgress =
  | { state: 'pending'; reason?: string }
  | { state: 'running' }
  | { state: 'done'; exitCode: number; terminationMessage?: string }
  /** It will not run: the reason is final, or retrying cannot fix it. */
  | { state: 'stuck'; reason: string };

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

export function podProgress(pod: V1Pod): PodProgress {
  const phase = pod.status?.phase;
  const container = pod.status?.containerStatuses?.[0];
  const terminated = container?.state?.terminated;
  if (phase === 'Succeeded' || phase === 'Failed' || terminated !== undefined) {
    if (terminated === undefined) {
      // Failed before the container ran, e.g. activeDeadlineSeconds while Pending.
      return { state: 'stuck', reason: `${pod.status?.reason ?? phase ?? 'Failed'}: ${pod.status?.message ?? 'the probe never ran'}` };
    }
    return { state: 'done', exitCode: terminated.exitCode, ...(terminated.message ? { terminationMessage: terminated.message } : {}) };
  }
  const waiting = container?.state?.waiting;
  if (waiting?.reason !== undefined && FATAL_WAITING.has(waiting.reason)) {
    return { state: 'stuck', reason: `${waiting.reason}: ${waiting.message ?? ''}`.trim() };
  }
  if (container?.state?.running !== undefined) return { state: 'running' };
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { state: 'pending', reason: `Unschedulable: ${scheduled.message ?? ''}`.trim() };
  }
  if (waiting?.reason !== undefined && SLOW_WAITING.has(waiting.reason)) {
    return { state: 'pending', reason: `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` };
  }
  return { state: 'pending' };
}
