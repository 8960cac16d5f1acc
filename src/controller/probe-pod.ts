/**
 * The probe pod, as a pure function of the run. It must be selected by exactly the workload's
 * policies, meet Pod Security "restricted", and never disturb the real workload: a controller
 * ownerReference of its own so no ReplicaSet adopts it, no controller hash labels, and a
 * readiness gate nothing satisfies so it never joins the workload's Service endpoints.
 */
import type { V1ConfigMap, V1EphemeralContainer, V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import { PLAN_ENV } from '../../probes/plan.js';
import type { WorkloadTarget } from './target.js';
import { copiedNetworkFields, twinPlacement } from './twin.js';

export const RUN_LABEL = 'egress-verify.dev/run';
export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const NEVER_READY_GATE = 'egress-verify.dev/never-ready';
/** The probe pod's one container. */
export const PROBE_CONTAINER = 'probe';
/** Probe results are written to the log; this is the fallback Kubernetes keeps (4 KiB). */
export const TERMINATION_LOG = '/dev/termination-log';
/** Where the run object's plan is mounted: an environment variable holds at most 128 KiB. */
export const PLAN_DIR = '/etc/egress-verify';
const PLAN_FILE = 'plan.json';
/** What one ConfigMap can hold (etcd's object limit); the run object carries every plan. */
export const RUN_OBJECT_MAX_BYTES = 1024 * 1024 - 16 * 1024;

export const planKey = (index: number): string => `plan-${index}.json`;

export interface ProbePodInput {
  runId: string;
  index: number;
  target: WorkloadTarget;
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** The run object's key that holds this pod's plan. */
  planKey: string;
  /** The run's ConfigMap: the probe pods' controller, so deleting it collects them. */
  runObject: { name: string; uid: string };
  activeDeadlineSeconds: number;
  /** Wait before the first check: a new pod's NetworkPolicy rules are programmed asynchronously. */
  settleMs: number;
  /** Then wait up to this long for the allowed path to answer (probes/allowed-path.ts). */
  pathWaitMs: number;
  node?: string;
}

export function runObjectOwner(runObject: { name: string; uid: string }): V1OwnerReference {
  return { apiVersion: 'v1', kind: 'ConfigMap', name: runObject.name, uid: runObject.uid, controller: true };
}

export function probeLabels(target: WorkloadTarget, runId: string): Record<string, string> {
  // The workload's own managed-by value wins: changing it could change which policies select us.
  return { [MANAGED_BY]: 'egress-verify', ...target.labels, [RUN_LABEL]: runId };
}

export function buildRunObject(runId: string, namespace: string, plans: readonly string[], owner?: V1OwnerReference): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `egress-verify-run-${runId}`,
      namespace,
      labels: { [MANAGED_BY]: 'egress-verify', [RUN_LABEL]: runId },
      ...(owner ? { ownerReferences: [owner] } : {}),
    },
    // Each probe pod mounts its own plan from here, read-only.
    data: Object.fromEntries(plans.map((plan, i) => [planKey(i), plan])),
  };
}

/**
 * Node's young generation grows to 16 MiB semi-spaces, garbage the probe's short life never
 * needs room for: at 1 MiB its peak heap is about 10 MiB lower. An option NODE_OPTIONS accepts,
 * so the image's entrypoint stays as it is.
 */
export const PROBE_NODE_OPTIONS = '--max-semi-space-size=1';

type ProbeProcessInput = Pick<ProbePodInput, 'target' | 'image' | 'imagePullPolicy' | 'settleMs' | 'pathWaitMs'>;

/** The probe process as a container: the same in a probe pod and as an ephemeral container (--in-pod). */
function probeProcess(
  input: ProbeProcessInput,
  planArgs: readonly string[],
  planEnv: NonNullable<V1EphemeralContainer['env']>,
): Omit<V1EphemeralContainer, 'name'> {
  return {
    image: input.image,
    imagePullPolicy: input.imagePullPolicy,
    args: [
      'probe',
      ...planArgs,
      '--termination-log',
      TERMINATION_LOG,
      '--settle-ms',
      String(input.settleMs),
      '--path-wait-ms',
      String(input.pathWaitMs),
    ],
    // The workload's proxy variables only (PROXY_VARS), so nothing of its own replaces ours.
    env: [...planEnv, { name: 'NODE_OPTIONS', value: PROBE_NODE_OPTIONS }, ...input.target.proxyEnv],
    terminationMessagePath: TERMINATION_LOG,
    terminationMessagePolicy: 'File',
    // Restricted on its own: an ephemeral container gets no pod-level defaults of ours.
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}

/** The ephemeral container's name in the workload pod: one per run, so a rerun never collides. */
const ephemeralProbeName = (runId: string): string => `egress-verify-${runId}`;

/** The kernel's limit on one environment string: the ephemeral probe's plan must fit in it. */
export const EPHEMERAL_PLAN_MAX_BYTES = 128 * 1024 - PLAN_ENV.length - 2;

/**
 * `--in-pod`: the probe as an ephemeral container of a live workload pod, sharing its network
 * namespace. It can mount none of our volumes (only the pod's own), so its plan travels in its
 * environment; it mounts nothing (no service account token) and stays in the pod's spec until
 * the pod is replaced: Kubernetes cannot remove an ephemeral container.
 */
export function buildEphemeralProbe(input: ProbeProcessInput & { runId: string; planJson: string }): V1EphemeralContainer {
  return { name: ephemeralProbeName(input.runId), ...probeProcess(input, [], [{ name: PLAN_ENV, value: input.planJson }]) };
}

export function buildProbePod(input: ProbePodInput): V1Pod {
  const { target, runId } = input;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `egress-verify-${runId}-${input.index}`,
      namespace: target.namespace,
      labels: probeLabels(target, runId),
      annotations: { ...target.twin.annotations, 'egress-verify.dev/target': target.description },
      ownerReferences: [runObjectOwner(input.runObject)],
    },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: input.activeDeadlineSeconds,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      ...(target.serviceAccountName ? { serviceAccountName: target.serviceAccountName } : {}),
      readinessGates: [{ conditionType: NEVER_READY_GATE }],
      // The network twin: what decides where the workload's packets go, and where it can land.
      ...copiedNetworkFields(target.twin),
      ...twinPlacement(target.twin, input.node),
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 65532,
        runAsGroup: 65532,
        seccompProfile: { type: 'RuntimeDefault' },
        // The ICMP check's echo needs an ICMP datagram socket, which the kernel grants to the
        // groups in this (namespaced, "safe") sysctl; with no capabilities there is no raw socket.
        // Not on the node's network: Kubernetes refuses net sysctls with hostNetwork.
        ...(target.twin.spec.hostNetwork === true ? {} : { sysctls: [{ name: 'net.ipv4.ping_group_range', value: '65532 65532' }] }),
      },
      containers: [
        {
          name: PROBE_CONTAINER,
          ...probeProcess(input, ['--plan', `${PLAN_DIR}/${PLAN_FILE}`], []),
          volumeMounts: [{ name: 'plan', mountPath: PLAN_DIR, readOnly: true }],
          // One core at most: the probe lives seconds, and at half a core the quota throttled its
          // start-up (about 0.4 s of CPU on several threads) and its checks into twice the time.
          resources: {
            requests: { cpu: '50m', memory: '64Mi' },
            limits: { cpu: '1', memory: '256Mi' },
          },
        },
      ],
      volumes: [{ name: 'plan', configMap: { name: input.runObject.name, items: [{ key: input.planKey, path: PLAN_FILE }] } }],
    },
  };
}
