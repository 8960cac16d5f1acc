/**
 * `run`: probe pods that carry the workload's identity, one watch until they finish, results
 * read back through the API (logs, termination message), and cleanup on every path out.
 */
import { randomBytes } from 'node:crypto';
import type { V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import type { CheckResult, Observation, ProbePlan } from '../../probes/base/model.js';
import { proxyFor } from '../../probes/base/proxy-env.js';
import { markPlan } from '../../probes/base/receipt.js';
import { planDurationMs, withCompanionSlots } from '../../probes/companion-slots.js';
import { controlPlan } from '../../probes/control-plan.js';
import type { PodRef } from '../../probes/wire.js';
import type { AuditFinding } from '../audit/finding.js';
import type { Environment } from '../base/environment.js';
import { InfrastructureError, UsageError } from '../base/errors.js';
import { kubeCall } from '../kube/client.js';
import { inWaves, shareCompanion } from './companion-budget.js';
import { buildControlPod } from './control-pod.js';
import { attachProbes, livePods, waitForEphemeral } from './in-pod.js';
import type { PodState, Probe } from './pod-progress.js';
import type { ProbeKube } from './probe-kube.js';
import {
  buildProbePod,
  buildRunObject,
  EPHEMERAL_PLAN_MAX_BYTES,
  PROBE_CONTAINER,
  planKey,
  probeLabels,
  RUN_LABEL,
  RUN_OBJECT_MAX_BYTES,
} from './probe-pod.js';
import { collect, describe, readProbeLog, verdictLine } from './results.js';
import { cleanup, sweepStale } from './sweep.js';
import type { WorkloadTarget } from './target.js';
import { admissionFindings, admittedDifferences } from './twin.js';
import { watchUntilDone } from './watch.js';

export interface ProbeRunSettings {
  /** One or more workloads of one namespace, each with the plan for its companion. */
  workloads: { target: WorkloadTarget; plan: ProbePlan }[];
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  perNode: boolean;
  /** The probe as an ephemeral container of a live workload pod (an exact twin that leaves a trace). */
  inPod: boolean;
  /** Where a control pod sends the must-fail checks directly (control-pod.ts); none when absent. */
  controlNamespace?: string;
  /** Tunnels all this run's probes may hold through the companion at once (companion-budget.ts). */
  companionConcurrency: number;
  /** How long a probe pod may take to start before its Kubernetes reason is reported. */
  startTimeoutMs: number;
  settleMs: number;
  pathWaitMs: number;
  /** Probe pods of runs older than this are swept as left behind by a killed run. */
  staleAfterMs: number;
  signal: AbortSignal;
  onProgress?: (pod: string, state: string) => void;
  /** The clock: the run id, and which earlier runs are stale. */
  now: () => Date;
  /** The controller's environment: its own pod, when it runs in one (controllerPodOwner). */
  env: Environment;
}

export interface RunOutcome {
  runId: string;
  results: CheckResult[];
  pods: { name: string; node?: string; outcome: string }[];
  /** The probe pods as last seen through the API, for the evidence bundle. */
  podObjects: V1Pod[];
  /** The probe image as the kubelet resolved it. */
  imageId?: string;
  warnings: string[];
  /** By index into settings.workloads: the plan as sent, with its inspection receipts' markers. */
  plans: ProbePlan[];
  /** Probe pods that admission changed in what could decide egress (twin-inexact, never a pass). */
  admissionFindings: AuditFinding[];
}

/**
 * The controller's own pod (downward API, set by the manifests), as the run object's owner. Only
 * in the run's namespace: the garbage collector treats an owner in another namespace as absent
 * and would delete the run object, and its probe pods, at once.
 */
export function controllerPodOwner(namespace: string, env: Environment): V1OwnerReference | undefined {
  const { EGRESS_VERIFY_POD_NAME: name, EGRESS_VERIFY_POD_UID: uid, EGRESS_VERIFY_POD_NAMESPACE: own } = env;
  return name && uid && own === namespace ? { apiVersion: 'v1', kind: 'Pod', name, uid } : undefined;
}

/** --per-node: every node that runs a pod of the workload (other nodes may route differently, but the workload is not there). */
async function workloadNodes(kube: ProbeKube, target: WorkloadTarget): Promise<string[]> {
  const pods = await kubeCall(`listing the pods of ${target.description} for --per-node`, () =>
    kube.core.listNamespacedPod({ namespace: target.namespace, labelSelector: target.liveSelector }),
  );
  const nodes = pods.items.filter((p) => !p.metadata?.labels?.[RUN_LABEL]).flatMap((p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
  if (nodes.length === 0) throw new InfrastructureError(`--per-node: no pod of ${target.description} runs on a node`);
  return [...new Set(nodes)].sort();
}

export async function runProbes(kube: ProbeKube, settings: ProbeRunSettings): Promise<RunOutcome> {
  const namespace = settings.workloads[0]?.target.namespace;
  if (namespace === undefined) throw new UsageError('no workload to probe');
  const warnings: string[] = [];
  const swept = await sweepStale(kube, namespace, settings.staleAfterMs, settings.now());
  if (swept > 0) warnings.push(`swept ${swept} probe pod(s) left behind by an earlier run`);

  const runId = `${settings.now().getTime().toString(36)}-${randomBytes(3).toString('hex')}`;
  // Where every probe goes, before any starts: the companion's budget is shared by all of them.
  const placements: Placement[] = [];
  for (const [w, { target }] of settings.workloads.entries()) {
    if (settings.inPod) for (const live of await livePods(kube, target, settings.perNode)) placements.push({ w, live });
    else
      for (const node of settings.perNode ? await workloadNodes(kube, target) : [undefined]) placements.push({ w, ...(node && { node }) });
  }
  const share = shareCompanion(placements.length, settings.companionConcurrency);
  const workloads = settings.workloads.map((w, i) => ({ ...w, plan: withCompanionSlots(markPlan(w.plan, runId, i), share.slots) }));
  // Checks through the companion queue for their slots; the rest is start-up slack.
  const longestPlanMs = Math.max(...workloads.map((w) => planDurationMs(w.plan)));
  const activeDeadlineSeconds = Math.ceil((settings.startTimeoutMs + settings.settleMs + settings.pathWaitMs + longestPlanMs) / 1000) + 30;
  const plans = workloads.map((w) => JSON.stringify(w.plan));
  const planBytes = plans.reduce((n, p) => n + Buffer.byteLength(p), 0);
  if (planBytes > RUN_OBJECT_MAX_BYTES)
    throw new UsageError(`the plans take ${planBytes} bytes, more than the ${RUN_OBJECT_MAX_BYTES} a run's ConfigMap can hold`);
  const largest = Math.max(...plans.map((p) => Buffer.byteLength(p)));
  if (settings.inPod && largest > EPHEMERAL_PLAN_MAX_BYTES)
    throw new UsageError(
      `--in-pod: a plan of ${largest} bytes does not fit the ephemeral probe's environment (${EPHEMERAL_PLAN_MAX_BYTES})`,
    );

  const runObject = await kubeCall(`creating the run object in ${namespace}`, () =>
    kube.core.createNamespacedConfigMap({
      namespace,
      body: buildRunObject(runId, namespace, plans, controllerPodOwner(namespace, settings.env)),
    }),
  );
  const owner = { name: runObject.metadata?.name ?? '', uid: runObject.metadata?.uid ?? '' };
  // Filled before each create, so that cleanup deletes whatever a cut-off create left.
  const probes = new Map<string, Probe>();
  /** Each probe pod as sent, to compare with the pod as admitted. */
  const sent = new Map<string, V1Pod>();
  /** Each probe's workload, by index into settings.workloads. */
  const workloadOf = new Map<string, number>();
  const controls: ControlRun = { pods: new Map(), planOf: [] };
  const deadlineMs = activeDeadlineSeconds * 1000;
  /**
   * Each probe pod's log is read, and the pod deleted, as it ends: not one by one after the
   * last, which kept a run waiting seconds for reads and deletes that could have been done.
   */
  const early = new Map<string, { log: Promise<string | undefined>; deleted: Promise<boolean> }>();
  const readAndDelete = (name: string): void => {
    const logRead = readProbeLog(kube, namespace, name, PROBE_CONTAINER);
    const deleted = logRead
      .then(() => kube.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }))
      .then(
        () => true,
        // Left to the cleanup at the end, which says why if it fails again.
        () => false,
      );
    early.set(name, { log: logRead, deleted });
  };
  try {
    if (settings.controlNamespace !== undefined)
      Object.assign(controls, await startControlPods(kube, settings, runId, activeDeadlineSeconds));
    const probing = async (): Promise<Map<string, PodState>> => {
      if (settings.inPod) {
        const finished = new Map<string, PodState>();
        const waves = inWaves(placements, share);
        for (const [i, wave] of waves.entries()) {
          if (waves.length > 1) settings.onProgress?.(`wave ${i + 1}/${waves.length}`, budgetLine(wave.length, share.slots, settings));
          const started = await attachWave(kube, settings, { runId, workloads, plans }, wave, { probes, workloadOf });
          for (const [key, state] of await waitForEphemeral(kube, namespace, started, settings, deadlineMs)) finished.set(key, state);
        }
        return finished;
      }
      const pods = new Map<string, V1Pod>();
      for (const placement of placements) {
        const { target, plan } = workloads[placement.w] ?? {};
        if (target === undefined || plan === undefined) continue;
        const pod = buildProbePod({
          runId,
          index: probes.size,
          target,
          image: settings.image,
          imagePullPolicy: settings.imagePullPolicy,
          planKey: planKey(placement.w),
          runObject: owner,
          activeDeadlineSeconds,
          settleMs: settings.settleMs,
          pathWaitMs: settings.pathWaitMs,
          ...(placement.node ? { node: placement.node } : {}),
        });
        const name = pod.metadata?.name ?? '';
        pods.set(name, pod);
        sent.set(name, pod);
        // Recorded before it exists, so that cleanup deletes whatever a cut-off create left.
        probes.set(name, { pod: name, container: PROBE_CONTAINER, plan, workload: target.description });
        workloadOf.set(name, placement.w);
      }
      if (share.lanes < pods.size)
        settings.onProgress?.(`${pods.size} probe pods`, `${budgetLine(share.lanes, share.slots, settings)}, the next as one ends`);
      return watchUntilDone(kube, namespace, runId, [...pods.keys()], settings, deadlineMs * share.rounds, {
        lanes: share.lanes,
        container: PROBE_CONTAINER,
        onDone: readAndDelete,
        create: async (name) => {
          await kubeCall(`creating probe pod ${name}`, () => kube.core.createNamespacedPod({ namespace, body: pods.get(name) ?? {} }));
        },
      });
    };
    const [finished, controlsFinished] = await Promise.all([
      probing(),
      controls.namespace === undefined
        ? new Map<string, PodState>()
        : watchUntilDone(kube, controls.namespace, runId, [...controls.pods.keys()], settings, deadlineMs),
    ]);
    const results: CheckResult[] = [];
    const admitted: AuditFinding[] = [];
    const pods: RunOutcome['pods'] = [];
    const podObjects: V1Pod[] = [];
    // The control pods first: what they reached is part of judging the twins.
    const directOf = new Map<string, ReadonlyMap<string, Observation>>();
    for (const [name, plan] of controls.pods) {
      const state: PodState = controlsFinished.get(name) ?? { progress: { state: 'pending' } };
      pods.push({ name, ...(state.node ? { node: state.node } : {}), outcome: describe(state.progress) });
      if (state.object) podObjects.push(state.object);
      const where: PodRef = { pod: name, ...(state.node ? { node: state.node } : {}) };
      const own = await collect(kube, controls.namespace ?? namespace, plan, where, state.progress, 'probe');
      const reached = own.filter((r) => r.observation.class === 'reached');
      settings.onProgress?.(name, `control: reached ${reached.length} of ${own.length} targets directly`);
      // Reaching nothing is what a default-deny over the control pod looks like: no control.
      if (reached.length === 0)
        warnings.push(
          `control pod ${name} in ${controls.namespace} reached none of its ${own.length} targets (a default-deny there, or the targets are down): no check has a control pod's proof`,
        );
      directOf.set(name, new Map(reached.map((r) => [r.id, r.observation])));
    }
    for (const [key, { pod: name, container, plan, workload }] of probes) {
      const state: PodState = finished.get(key) ?? { progress: { state: 'pending' } };
      const where: PodRef = { pod: name, ...(state.node ? { node: state.node } : {}), workload };
      const outcome = describe(state.progress);
      pods.push({
        name,
        ...(state.node ? { node: state.node } : {}),
        outcome: settings.inPod ? `ephemeral container ${container} ${outcome}` : outcome,
      });
      if (state.object) podObjects.push(state.object);
      const body = sent.get(key);
      const target = workloads[workloadOf.get(key) ?? -1]?.target;
      if (state.object && body && target) admitted.push(...admissionFindings(target, name, admittedDifferences(body, state.object)));
      const controlPod = controls.planOf[workloadOf.get(key) ?? -1];
      const direct = controlPod === undefined ? undefined : directOf.get(controlPod);
      const own = await collect(kube, namespace, plan, where, state.progress, container, direct, early.get(key)?.log);
      results.push(...own);
      settings.onProgress?.(name, verdictLine(own));
    }
    const probeStatuses = podObjects.flatMap((p) =>
      [...(p.status?.containerStatuses ?? []), ...(p.status?.ephemeralContainerStatuses ?? [])].filter((c) =>
        [...probes.values()].some((probe) => probe.pod === p.metadata?.name && probe.container === c.name),
      ),
    );
    const imageId = probeStatuses.find((c) => c.imageID)?.imageID;
    return {
      runId,
      results,
      pods,
      podObjects,
      ...(imageId && { imageId }),
      warnings,
      plans: workloads.map((w) => w.plan),
      admissionFindings: admitted,
    };
  } finally {
    const gone = new Set<string>();
    for (const [name, { deleted }] of early) if (await deleted) gone.add(name);
    // --in-pod probes live in the workload's own pods, which are never deleted.
    await cleanup(kube, namespace, settings.inPod ? [] : [...probes.keys()].filter((name) => !gone.has(name)), owner.name);
    if (controls.namespace !== undefined && controls.runObject !== undefined)
      await cleanup(kube, controls.namespace, [...controls.pods.keys()], controls.runObject);
  }
}

/**
 * --in-pod: one wave's probes, as ephemeral containers in the workloads' live pods, each recorded
 * in `all` as it is added; the wave's own are returned.
 */
async function attachWave(
  kube: ProbeKube,
  settings: ProbeRunSettings,
  run: { runId: string; workloads: readonly { target: WorkloadTarget; plan: ProbePlan }[]; plans: readonly string[] },
  wave: readonly Placement[],
  all: { probes: Map<string, Probe>; workloadOf: Map<string, number> },
): Promise<Map<string, Probe>> {
  const started = new Map<string, Probe>();
  for (const placement of wave) {
    const { target, plan } = run.workloads[placement.w] ?? {};
    if (target === undefined || plan === undefined || placement.live === undefined) continue;
    const attach = { runId: run.runId, index: all.probes.size, target, plan, planJson: run.plans[placement.w] ?? '' };
    for (const probe of await attachProbes(kube, settings, attach, [placement.live])) {
      const key = `${probe.pod}/${probe.container}`;
      all.probes.set(key, probe);
      all.workloadOf.set(key, placement.w);
      started.set(key, probe);
    }
  }
  return started;
}

const budgetLine = (probes: number, slots: number, settings: ProbeRunSettings): string =>
  `${probes} probe(s) at once, ${slots} companion tunnel(s) each (--companion-concurrency ${settings.companionConcurrency})`;

/** Where one probe runs: a probe pod (on `node` with --per-node), or with --in-pod the live pod it joins. */
interface Placement {
  /** Index into the run's workloads. */
  w: number;
  node?: string;
  live?: V1Pod;
}

/** The control pods of one run: their plans by pod name, and which pod controls each workload. */
interface ControlRun {
  namespace?: string;
  runObject?: string;
  pods: Map<string, ProbePlan>;
  /** By workload index: the control pod that sent that workload's must-fail checks. */
  planOf: (string | undefined)[];
}

/**
 * One control pod per distinct control plan (the workloads of one catalogue share it), with a run
 * object of its own in the control namespace: a pod mounts its plan, and has its owner, there.
 */
async function startControlPods(
  kube: ProbeKube,
  settings: ProbeRunSettings,
  runId: string,
  activeDeadlineSeconds: number,
): Promise<ControlRun> {
  const namespace = settings.controlNamespace ?? '';
  const planJson = settings.workloads.map((w) => {
    const direct = controlPlan(w.plan);
    return direct.checks.length > 0 ? JSON.stringify(direct) : undefined;
  });
  const distinct = [...new Set(planJson.filter((p) => p !== undefined))];
  const run: ControlRun = { namespace, pods: new Map(), planOf: [] };
  if (distinct.length === 0) return run;
  const created = await kubeCall(`creating the control run object in ${namespace}`, () =>
    kube.core.createNamespacedConfigMap({
      namespace,
      body: buildRunObject(`${runId}-control`, namespace, distinct, controllerPodOwner(namespace, settings.env)),
    }),
  );
  run.runObject = created.metadata?.name ?? '';
  for (const [i, json] of distinct.entries()) {
    const pod = buildControlPod({
      runId,
      index: i,
      namespace,
      image: settings.image,
      imagePullPolicy: settings.imagePullPolicy,
      planKey: planKey(i),
      runObject: { name: run.runObject, uid: created.metadata?.uid ?? '' },
      activeDeadlineSeconds,
      settleMs: settings.settleMs,
      pathWaitMs: settings.pathWaitMs,
    });
    const name = pod.metadata?.name ?? '';
    run.pods.set(name, JSON.parse(json) as ProbePlan);
    await kubeCall(`creating control pod ${name} in ${namespace}`, () => kube.core.createNamespacedPod({ namespace, body: pod }));
  }
  run.planOf = planJson.map((json) => (json === undefined ? undefined : [...run.pods.keys()][distinct.indexOf(json)]));
  return run;
}

export function probeIdentity(target: WorkloadTarget): Record<string, string> {
  return probeLabels(target, 'preflight');
}

export function requireCompanion(target: WorkloadTarget, companion: string | undefined): string {
  if (companion !== undefined) return companion;
  const fromEnv = proxyFor('https', Object.fromEntries(target.proxyEnv.map((e) => [e.name, e.value])));
  if (fromEnv === undefined) {
    throw new UsageError(`${target.description} sets no HTTPS_PROXY: name the companion with --companion URL`);
  }
  return fromEnv;
}
