/**
 * `run --in-pod`: the probe as an ephemeral container inside a live pod of the workload, so it
 * shares that pod's network namespace (mesh redirection, NET_ADMIN rules, fixed address and all):
 * the exactest twin there is. The price is a trace: Kubernetes never removes an ephemeral
 * container, so it stays in the pod's spec until the pod is replaced.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { ProbePlan } from '../../probes/base/model.js';
import { InfrastructureError } from '../base/errors.js';
import { log } from '../base/log.js';
import { apiStatus, kubeCall, kubeError } from '../kube/client.js';
import { ephemeralProgress, type PodState, type Probe } from './pod-progress.js';
import type { ProbeKube } from './probe-kube.js';
import { buildEphemeralProbe, RUN_LABEL } from './probe-pod.js';
import type { WorkloadTarget } from './target.js';

export interface InPodSettings {
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  perNode: boolean;
  startTimeoutMs: number;
  settleMs: number;
  pathWaitMs: number;
  signal: AbortSignal;
  onProgress?: (pod: string, state: string) => void;
}

/** The live pods to join: the first running one, or with --per-node the first on each node. */
export async function livePods(kube: ProbeKube, target: WorkloadTarget, perNode: boolean): Promise<V1Pod[]> {
  const list = await kubeCall(`listing the pods of ${target.description} for --in-pod`, () =>
    kube.core.listNamespacedPod({ namespace: target.namespace, labelSelector: target.liveSelector }),
  );
  const running = list.items
    .filter((p) => !p.metadata?.labels?.[RUN_LABEL] && p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp)
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  if (running.length === 0) throw new InfrastructureError(`--in-pod: no running pod of ${target.description} to join`);
  if (!perNode) return running.slice(0, 1);
  const byNode = new Map<string, V1Pod>();
  for (const p of running) if (!byNode.has(p.spec?.nodeName ?? '')) byNode.set(p.spec?.nodeName ?? '', p);
  return [...byNode.values()];
}

const MAX_CONFLICTS = 3;

/** Adds the probe to each of the live pods (livePods); a write that lost a race with another one is retried (bounded). */
export async function attachProbes(
  kube: ProbeKube,
  settings: InPodSettings,
  run: { runId: string; index: number; target: WorkloadTarget; plan: ProbePlan; planJson: string },
  lives: readonly V1Pod[],
): Promise<Probe[]> {
  const { target } = run;
  const probes: Probe[] = [];
  for (const live of lives) {
    const pod = live.metadata?.name ?? '';
    const container = buildEphemeralProbe({
      runId: `${run.runId}-${run.index + probes.length}`,
      target,
      image: settings.image,
      imagePullPolicy: settings.imagePullPolicy,
      planJson: run.planJson,
      settleMs: settings.settleMs,
      pathWaitMs: settings.pathWaitMs,
    });
    for (let attempt = 1; ; attempt++) {
      const fresh = await kubeCall(`reading pod ${pod}`, () => kube.core.readNamespacedPod({ name: pod, namespace: target.namespace }));
      if (fresh.spec === undefined) throw new InfrastructureError(`--in-pod: pod ${pod} has no spec`);
      fresh.spec.ephemeralContainers = [...(fresh.spec.ephemeralContainers ?? []), container];
      try {
        await kube.core.replaceNamespacedPodEphemeralcontainers({ name: pod, namespace: target.namespace, body: fresh });
        break;
      } catch (err) {
        if ((err as { code?: number }).code !== 409 || attempt >= MAX_CONFLICTS)
          throw kubeError(`adding the probe to pod ${pod} as an ephemeral container`, err);
      }
    }
    settings.onProgress?.(pod, `ephemeral container ${container.name} added`);
    probes.push({ pod, container: container.name, plan: run.plan, workload: target.description });
  }
  return probes;
}

const POLL_MS = 1000;

/**
 * Reads each joined pod until its probe container finished, could not start, or the run's
 * deadline passed. Polled, not watched: the workload's pods carry no label of the run (adding
 * one could change which policies select them).
 */
export async function waitForEphemeral(
  kube: ProbeKube,
  namespace: string,
  probes: ReadonlyMap<string, Probe>,
  settings: InPodSettings,
  deadlineMs: number,
): Promise<Map<string, PodState>> {
  const states = new Map<string, PodState>();
  const started = Date.now();
  const terminal = (s: PodState | undefined): boolean => s?.progress.state === 'done' || s?.progress.state === 'stuck';
  while (Date.now() - started < deadlineMs) {
    if (settings.signal.aborted) throw new InfrastructureError('interrupted: the ephemeral probes end on their own deadlines, no report');
    for (const [key, probe] of probes) {
      if (terminal(states.get(key))) continue;
      let pod: V1Pod;
      try {
        pod = await kube.core.readNamespacedPod({ name: probe.pod, namespace });
      } catch (err) {
        log.info({ pod: probe.pod, err: apiStatus(err) ?? String(err) }, 'workload pod unreadable');
        continue;
      }
      let progress = ephemeralProgress(pod, probe.container);
      if (progress.state === 'pending' && Date.now() - started > settings.startTimeoutMs)
        progress = { state: 'stuck', reason: progress.reason ?? 'not started before the start timeout' };
      const before = states.get(key)?.progress.state;
      const node = pod.spec?.nodeName;
      states.set(key, { ...(node ? { node } : {}), progress, object: pod });
      if (before !== progress.state) settings.onProgress?.(probe.pod, `${probe.container} ${progress.state}`);
    }
    if ([...probes.keys()].every((k) => terminal(states.get(k)))) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return states;
}
