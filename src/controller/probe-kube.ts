/**
 * The part of the Kubernetes API a run's probes need, and no more: what sweep.ts, watch.ts,
 * results.ts, in-pod.ts and run.ts call. Narrow so a unit test can stand in for the API server
 * (test/fake-kube.ts) while every line of the run path above it is the real one.
 */
import { type CoreV1Api, type V1Pod, Watch } from '@kubernetes/client-node';
import type { Kube } from '../kube/client.js';
import { followLog, type LogFollow } from '../kube/follow-log.js';

/** A pod event as the watch delivers it: ADDED, MODIFIED, DELETED (BOOKMARK and ERROR are ignored). */
export type PodEvent = (type: string, pod: V1Pod) => void;

export interface ProbeKube {
  core: Pick<
    CoreV1Api,
    | 'createNamespacedConfigMap'
    | 'createNamespacedPod'
    | 'deleteNamespacedConfigMap'
    | 'deleteNamespacedPod'
    | 'listNamespacedConfigMap'
    | 'listNamespacedPod'
    | 'readNamespacedPod'
    | 'readNamespacedPodLog'
    | 'replaceNamespacedPodEphemeralcontainers'
  >;
  /**
   * Watches the pods of a namespace that match a label selector. `done` is called once when the
   * watch ends (the server closed it, or it failed); aborting the returned controller stops it.
   */
  watchPods(namespace: string, labelSelector: string, onEvent: PodEvent, done: (err: unknown) => void): Promise<AbortController>;
  /** Follows a container's log from its start (follow-log.ts); aborting the controller stops it. */
  followLog(follow: LogFollow): Promise<AbortController>;
}

export function probeKube(kube: Kube): ProbeKube {
  return {
    core: kube.core,
    watchPods: (namespace, labelSelector, onEvent, done) =>
      new Watch(kube.config).watch(`/api/v1/namespaces/${namespace}/pods`, { labelSelector }, onEvent, done),
    followLog: (follow) => followLog(kube.config, follow),
  };
}
