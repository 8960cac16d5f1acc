/**
 * What a run leaves behind, removed: its own probe pods and run object on every path out, and
 * those of earlier runs that were killed before their cleanup.
 */
import { log } from '../base/log.js';
import { apiStatus, isNotFound, kubeCall } from '../kube/client.js';
import type { ProbeKube } from './probe-kube.js';
import { RUN_LABEL } from './probe-pod.js';

/** Deletes probe pods and run objects created before `now - staleAfterMs`; returns how many pods. */
export async function sweepStale(kube: ProbeKube, namespace: string, staleAfterMs: number, now: Date): Promise<number> {
  const cutoff = now.getTime() - staleAfterMs;
  const old = (t: Date | undefined): boolean => t !== undefined && new Date(t).getTime() < cutoff;
  const [pods, maps] = await Promise.all([
    kubeCall('listing probe pods to sweep', () => kube.core.listNamespacedPod({ namespace, labelSelector: RUN_LABEL })),
    kubeCall('listing run objects to sweep', () => kube.core.listNamespacedConfigMap({ namespace, labelSelector: RUN_LABEL })),
  ]);
  const stalePods = pods.items.filter((p) => old(p.metadata?.creationTimestamp));
  const staleMaps = maps.items.filter((m) => old(m.metadata?.creationTimestamp));
  await Promise.all([
    ...stalePods.map((p) =>
      deleteQuietly(() => kube.core.deleteNamespacedPod({ name: p.metadata?.name ?? '', namespace, gracePeriodSeconds: 0 })),
    ),
    ...staleMaps.map((m) => deleteQuietly(() => kube.core.deleteNamespacedConfigMap({ name: m.metadata?.name ?? '', namespace }))),
  ]);
  return stalePods.length;
}

/** One run's pods and its run object. */
export async function cleanup(kube: ProbeKube, namespace: string, pods: readonly string[], runObjectName: string): Promise<void> {
  // Pods first and explicitly: the garbage collector would get them via the run object, later
  // (and gets any whose creation was cut off before its name was recorded).
  await Promise.all(pods.map((name) => deleteQuietly(() => kube.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }))));
  await deleteQuietly(() => kube.core.deleteNamespacedConfigMap({ name: runObjectName, namespace }));
}

async function deleteQuietly(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (err) {
    if (!isNotFound(err)) log.warn({ err: apiStatus(err) ?? String(err) }, 'cleanup: delete failed');
  }
}
