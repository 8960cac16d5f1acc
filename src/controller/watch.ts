/**
 * One watch on a run's probe pods until each is done or cannot run: the Kubernetes reason of a
 * pod that never starts is reported instead of waited on, and the run's deadline bounds it all.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { isCompanionDone } from '../../probes/wire.js';
import { mapBounded } from '../base/calls.js';
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
/** On a busy node a create took 0.1-0.3 s: 20 pods made in turn took 3 s before the last could start. */
const CREATES_AT_ONCE = 8;

/**
 * Probe pods that are created as lanes free up (the companion budget, companion-budget.ts): the
 * first `lanes` at once, and the next only when one has ended or has said on its log that its
 * tunnels through the companion are closed (`companion-done`, wire.ts), so no more than `lanes`
 * hold tunnels at once. A pod past that line may go on with its must-fail checks.
 */
export interface PodFeed {
  lanes: number;
  /** Creates the named pod; a failure ends the watch with its error. */
  create(name: string): Promise<void>;
  /** The probe's container, whose log is followed for the companion-done line. */
  container: string;
  /** Called once for each pod whose probe has exited, while others may still run. */
  onDone?(name: string): void;
}

const terminal = (s: PodState): boolean => s.progress.state === 'done' || s.progress.state === 'stuck';

/**
 * Resolves with each pod's last state when all are done or stuck, or when `runDeadlineMs`
 * passes (the rest as last seen); rejects when the signal aborts or the watch cannot be held.
 * Without a feed, every pod of `podNames` has been created; with one, the feed creates them in
 * that order, and a pod not yet created when the deadline passes is reported stuck.
 */
export function watchUntilDone(
  kube: ProbeKube,
  namespace: string,
  runId: string,
  podNames: readonly string[],
  settings: WatchSettings,
  runDeadlineMs: number,
  feed?: PodFeed,
): Promise<Map<string, PodState>> {
  const states = new Map<string, PodState>();
  const waiting = feed ? [...podNames] : [];
  /**
   * Pods created that hold a lane: until they end or say companion-done. A stuck pod holds it
   * until deleted.
   */
  const alive = new Set(feed ? [] : podNames);
  /** Log follows of running pods that still hold a lane, while pods wait for one. */
  const follows = new Map<string, Promise<AbortController | undefined>>();
  /** Stuck pods deleted to free their lane: what the watch says of them after that is not news. */
  const released = new Set<string>();
  const startTimers = new Map<string, NodeJS.Timeout>();
  /** Pods whose exit the feed has been told of. */
  const reported = new Set<string>();
  return new Promise((resolve, reject) => {
    let request: AbortController | undefined;
    let rewatches = 0;
    let settled = false;
    let filling = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      for (const timer of startTimers.values()) clearTimeout(timer);
      for (const name of [...follows.keys()]) unfollow(name);
      clearTimeout(runTimer);
      settings.signal.removeEventListener('abort', onAbort);
      // Aborting inside the watch callback crashed client-node 1.4 on Node 20: defer it.
      setImmediate(() => request?.abort());
      for (const name of waiting)
        states.set(name, { progress: { state: 'stuck', reason: "not started: the run's deadline passed while it waited for a lane" } });
      if (error) reject(error);
      else resolve(states);
    };
    const onAbort = (): void => finish(new InfrastructureError('interrupted: probe pods deleted, no report'));
    settings.signal.addEventListener('abort', onAbort, { once: true });
    const allEnded = (): boolean => waiting.length === 0 && states.size === podNames.length && [...states.values()].every(terminal);
    const ended = (name: string): void => {
      const state = states.get(name);
      if (state?.progress.state === 'done' && !reported.has(name)) {
        reported.add(name);
        feed?.onDone?.(name);
      }
      if (state === undefined || !terminal(state) || !alive.has(name)) return;
      clearTimeout(startTimers.get(name));
      // A stuck pod may start after all: its lane is free only once it is gone.
      if (state.progress.state === 'stuck') {
        if (waiting.length === 0) return;
        released.add(name);
        void kube.core
          .deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 })
          .catch((err: unknown) => log.info({ pod: name, err: apiStatus(err) ?? String(err) }, 'stuck probe pod not deleted'));
      }
      alive.delete(name);
      unfollow(name);
      void fill();
    };
    /** The pod's tunnels are closed: its lane goes to the next pod, and the pod runs on. */
    const doneWithCompanion = (name: string): void => {
      unfollow(name);
      if (settled || !alive.delete(name)) return;
      settings.onProgress?.(name, 'companion done, its lane freed');
      void fill();
    };
    const follow = (name: string): void => {
      if (feed === undefined || follows.has(name) || !alive.has(name) || waiting.length === 0) return;
      follows.set(
        name,
        kube
          .followLog({
            namespace,
            pod: name,
            container: feed.container,
            onLine: (line) => {
              if (isCompanionDone(line)) doneWithCompanion(name);
            },
            done: () => follows.delete(name),
          })
          .catch((err: unknown) => {
            // The lane stays held until the pod ends: slower, never over the budget.
            log.info({ pod: name, err: apiStatus(err) ?? String(err) }, 'probe log not followed');
            return undefined;
          }),
      );
    };
    const unfollow = (name: string): void => {
      const pending = follows.get(name);
      follows.delete(name);
      // The abort is deferred, as for the watch: this may run inside the follow's own callback.
      void pending?.then((controller) => setImmediate(() => controller?.abort()));
    };
    const fill = async (): Promise<void> => {
      if (feed === undefined || filling) return;
      filling = true;
      try {
        // Lanes are taken here, before any call: the creates then run a few at once.
        const names: string[] = [];
        while (!settled && alive.size < feed.lanes) {
          const name = waiting.shift();
          if (name === undefined) break;
          alive.add(name);
          names.push(name);
        }
        await mapBounded(names, CREATES_AT_ONCE, async (name) => {
          // A failed create ends the run: the creates not yet begun are not made.
          if (settled) return;
          try {
            await feed.create(name);
          } catch (err) {
            finish(err instanceof Error ? err : new Error(String(err)));
            return;
          }
          if (!settled) arm(name);
        });
      } finally {
        filling = false;
      }
      // Lanes freed while a create was in flight.
      if (!settled && waiting.length > 0 && alive.size < feed.lanes) void fill();
      if (allEnded()) finish();
    };
    /**
     * One read of a pod not yet running at its start timeout, so the reason reported is the
     * latest, and a pod whose events the watch has not (yet) delivered is still accounted for.
     */
    const onStartTimeout = async (name: string): Promise<void> => {
      const known = states.get(name);
      if (known !== undefined && known.progress.state !== 'pending') return;
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
      ended(name);
      if (allEnded()) finish();
    };
    const arm = (name: string): void => {
      startTimers.set(
        name,
        setTimeout(() => void onStartTimeout(name), settings.startTimeoutMs),
      );
    };
    const runTimer = setTimeout(() => finish(), runDeadlineMs);
    const onEvent = (type: string, pod: V1Pod): void => {
      const name = pod.metadata?.name;
      // The run's control pods carry its label too, and may share the namespace.
      if (name === undefined || !podNames.includes(name) || type === 'DELETED' || released.has(name) || settled) return;
      const before = states.get(name);
      // A pod declared stuck at the start timeout stays stuck unless it finished after all.
      const progress = podProgress(pod);
      if (before && terminal(before) && progress.state !== 'done') return;
      const node = pod.spec?.nodeName;
      states.set(name, { ...(node ? { node } : {}), progress, object: pod });
      if (progress.state === 'running') follow(name);
      if (before?.progress.state !== progress.state) {
        settings.onProgress?.(
          name,
          `${progress.state}${node ? ` on ${node}` : ''}${'reason' in progress && progress.reason ? ` (${progress.reason})` : ''}`,
        );
      }
      ended(name);
      if (allEnded()) finish();
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
    else {
      for (const name of alive) arm(name);
      start();
      if (allEnded()) finish();
      else void fill();
    }
  });
}
