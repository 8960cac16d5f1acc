/**
 * The probe pod, as a pure function of the run. It must be selected by exactly the workload's
 * policies, meet Pod Security "restricted", and never disturb the real workload: a controller
 * ownerReference of its own so no ReplicaSet adopts it, no controller hash labels, and a
 * readiness gate nothing satisfies so it never joins the workload's Service endpoints.
 */
import type { V1ConfigMap, V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import type { WorkloadTarget } from './target.js';
import { copiedNetworkFields, twinPlacement } from './twin.js';

export const RUN_LABEL = 'egress-verify.dev/run';
export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const NEVER_READY_GATE = 'egress-verify.dev/never-ready';
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
      },
      containers: [
        {
          name: 'probe',
          image: input.image,
          imagePullPolicy: input.imagePullPolicy,
          args: [
            'probe',
            '--plan',
            `${PLAN_DIR}/${PLAN_FILE}`,
            '--termination-log',
            TERMINATION_LOG,
            '--settle-ms',
            String(input.settleMs),
          ],
          env: target.proxyEnv,
          volumeMounts: [{ name: 'plan', mountPath: PLAN_DIR, readOnly: true }],
          terminationMessagePath: TERMINATION_LOG,
          terminationMessagePolicy: 'File',
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          },
          resources: {
            requests: { cpu: '50m', memory: '64Mi' },
            limits: { cpu: '500m', memory: '256Mi' },
          },
        },
      ],
      volumes: [{ name: 'plan', configMap: { name: input.runObject.name, items: [{ key: input.planKey, path: PLAN_FILE }] } }],
    },
  };
}
