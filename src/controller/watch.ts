/**
 * One watch on a run's probe pods until each is done or cannot run: the Kubernetes reason of a
 * pod that never starts is reported instead of waited on, and the run's deadline bounds it all.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { InfrastructureError } from '../base/errors.js';
import { log } from '../base/log.js';
import { apiStatus, kubeError } from '../kube/client.js';
import { type PodState, podProgress } from './pod-progress.js';
import type { ProbeKube } from './probe-kube.js';
import { RUN_LABEL } from './probe-pod.js';

export interface WatchSettings {
  /** How long a pod may stay pending before it is reported stuck with its last reason. */
  startTimeoutMs: number;
  signal: AbortSignal;
  onProgress?: (pod: string, state: string) => void;
}

/** A watch the server closes early is resumed this many times. */
const MAX_REWATCH = 5;

const terminal = (s: PodState): boolean => s.progress.state === 'done' || s.progress.state === 'stuck';

/**
 * Resolves with each pod's last state when all are done or stuck, or when `runDeadlineMs`
 * passes (the rest as last seen); rejects when the signal aborts or the watch cannot be held.
 */
export function watchUntilDone(
  kube: ProbeKube,
  namespace: string,
  runId: string,
  podNames: readonly string[],
  settings: WatchSettings,
  runDeadlineMs: number,
): Promise<Map<string, PodState>> {
  const states = new Map<string, PodState>();
  return new Promise((resolve, reject) => {
    let request: AbortController | undefined;
    let rewatches = 0;
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(startTimer);
      clearTimeout(runTimer);
      settings.signal.removeEventListener('abort', onAbort);
      // Aborting inside the watch callback crashed client-node 1.4 on Node 20: defer it.
      setImmediate(() => request?.abort());
      if (error) reject(error);
      else resolve(states);
    };
    const onAbort = (): void => finish(new InfrastructureError('interrupted: probe pods deleted, no report'));
    settings.signal.addEventListener('abort', onAbort, { once: true });
    /**
     * One read of each pod not yet running, so the reason reported is the latest, and a pod
     * whose events the watch has not (yet) delivered is still accounted for.
     */
    const onStartTimeout = async (): Promise<void> => {
      for (const name of podNames) {
        const known = states.get(name);
        if (known !== undefined && known.progress.state !== 'pending') continue;
        let latest: PodState = known ?? { progress: { state: 'pending' } };
        try {
          const pod = await kube.core.readNamespacedPod({ name, namespace });
          const node = pod.spec?.nodeName;
          latest = { ...(node ? { node } : {}), progress: podProgress(pod), object: pod };
        } catch (err) {
          log.info({ pod: name, err: apiStatus(err) ?? String(err) }, 'probe pod unreadable at the start timeout');
        }
        if (settled) return;
        const p = latest.progress;
        states.set(
          name,
          p.state === 'pending'
            ? { ...latest, progress: { state: 'stuck', reason: p.reason ?? 'not started before the start timeout' } }
            : latest,
        );
      }
      if ([...states.values()].every(terminal)) finish();
    };
    const startTimer = setTimeout(() => void onStartTimeout(), settings.startTimeoutMs);
    const runTimer = setTimeout(() => finish(), runDeadlineMs);
    const onEvent = (type: string, pod: V1Pod): void => {
      const name = pod.metadata?.name;
      // The run's control pods carry its label too, and may share the namespace.
      if (name === undefined || !podNames.includes(name) || type === 'DELETED' || settled) return;
      const before = states.get(name);
      // A pod declared stuck at the start timeout stays stuck unless it finished after all.
      const progress = podProgress(pod);
      if (before && terminal(before) && progress.state !== 'done') return;
      const node = pod.spec?.nodeName;
      states.set(name, { ...(node ? { node } : {}), progress, object: pod });
      if (before?.progress.state !== progress.state) {
        settings.onProgress?.(
          name,
          `${progress.state}${node ? ` on ${node}` : ''}${'reason' in progress && progress.reason ? ` (${progress.reason})` : ''}`,
        );
      }
      if (states.size === podNames.length && [...states.values()].every(terminal)) finish();
    };
    const start = (): void => {
      kube
        .watchPods(namespace, `${RUN_LABEL}=${runId}`, onEvent, (err: unknown) => {
          if (settled) return;
          if (rewatches++ < MAX_REWATCH) start();
          else finish(kubeError('watching probe pods', err ?? new Error('the watch kept closing')));
        })
        .then(
          (controller) => {
            request = controller;
            if (settled) setImmediate(() => controller.abort());
          },
          (err: unknown) => finish(kubeError('watching probe pods', err)),
        );
    };
    // A signal that came before the watch began fires no event: deleting the pods must not wait.
    if (settings.signal.aborted) onAbort();
    else start();
  });
}
