/**
 * The workload under test, as the probe must impersonate it: the pod template's labels, its
 * proxy environment, its service account and its network twin, read from the API.
 */
import type { V1Container, V1ObjectMeta, V1PodTemplateSpec } from '@kubernetes/client-node';
import { UsageError } from '../base/errors.js';
import { isNotFound, type Kube, kubeError } from '../kube/client.js';
import { type Labels, selectorString } from '../kube/selector.js';
import { type NetworkTwin, networkTwin } from './twin.js';

export interface WorkloadTarget {
  namespace: string;
  /** "deployment/data-processor": the object the probe stands for. */
  description: string;
  /** The pod template's labels, without the hashes controllers add to their own pods. */
  labels: Labels;
  /** HTTPS_PROXY, HTTP_PROXY, NO_PROXY (either case) as the workload's first container sets them. */
  proxyEnv: { name: string; value: string }[];
  serviceAccountName?: string;
  /** Selector that finds the live workload pods. */
  liveSelector: string;
  /** The object probe results are recorded against (events, evidence). */
  ref?: { apiVersion: string; kind: string; name: string; uid: string };
  /** What else of the pod spec the probe copies, and how it differs from the workload. */
  twin: NetworkTwin;
}

export const WORKLOAD_KINDS = ['deployment', 'statefulset', 'daemonset', 'cronjob', 'pod'] as const;
type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

/** Added by ReplicaSets/StatefulSets/DaemonSets to their pods; a probe carrying them could be adopted. */
const CONTROLLER_HASH_LABELS = ['pod-template-hash', 'controller-revision-hash', 'statefulset.kubernetes.io/pod-name'];
export const PROXY_VARS = new Set([
  'HTTPS_PROXY',
  'HTTP_PROXY',
  'NO_PROXY',
  'https_proxy',
  'http_proxy',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
]);

export function withoutControllerHashes(labels: Labels | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) if (!CONTROLLER_HASH_LABELS.includes(k)) out[k] = v;
  return out;
}

/** Proxy variables with literal values; valueFrom cannot be resolved without reading Secrets. */
export function proxyEnvOf(containers: readonly V1Container[]): { name: string; value: string }[] {
  for (const c of containers) {
    const vars = (c.env ?? [])
      .filter((e) => PROXY_VARS.has(e.name) && e.value !== undefined)
      .map((e) => ({ name: e.name, value: e.value ?? '' }));
    if (vars.length > 0) return vars;
  }
  return [];
}

export function targetFromTemplate(
  namespace: string,
  description: string,
  template: V1PodTemplateSpec | undefined,
  ref: WorkloadTarget['ref'],
): WorkloadTarget {
  const labels = withoutControllerHashes(template?.metadata?.labels);
  if (Object.keys(labels).length === 0) throw new UsageError(`${description} has no pod labels: no NetworkPolicy can select it`);
  const sa = template?.spec?.serviceAccountName;
  return {
    namespace,
    description,
    labels,
    proxyEnv: proxyEnvOf(template?.spec?.containers ?? []),
    ...(sa ? { serviceAccountName: sa } : {}),
    liveSelector: selectorString(labels),
    ...(ref ? { ref } : {}),
    twin: networkTwin(template ?? {}),
  };
}

export interface WorkloadRef {
  kind: WorkloadKind;
  name: string;
}

/** --workload KIND/NAME, checked before the cluster is contacted. */
export function parseWorkload(workload: string): WorkloadRef {
  const [kindText, name, rest] = workload.split('/', 3);
  const kind = kindText?.toLowerCase().replace(/s$/, '') as WorkloadKind;
  // The name as the API server would accept it (RFC 1123 subdomain), so a typo fails here.
  if (name === undefined || rest !== undefined || !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(name) || !WORKLOAD_KINDS.includes(kind)) {
    throw new UsageError(`--workload "${workload}" must be KIND/NAME with KIND one of ${WORKLOAD_KINDS.join(', ')}`);
  }
  return { kind, name };
}

export async function resolveWorkload(kube: Kube, namespace: string, { kind, name }: WorkloadRef): Promise<WorkloadTarget> {
  const description = `${kind}/${name}`;
  const what = `reading ${description} in namespace ${namespace}`;
  try {
    switch (kind) {
      case 'deployment': {
        const d = await kube.apps.readNamespacedDeployment({ name, namespace });
        return targetFromTemplate(namespace, description, d.spec?.template, ref('apps/v1', 'Deployment', d.metadata));
      }
      case 'statefulset': {
        const s = await kube.apps.readNamespacedStatefulSet({ name, namespace });
        return targetFromTemplate(namespace, description, s.spec?.template, ref('apps/v1', 'StatefulSet', s.metadata));
      }
      case 'daemonset': {
        const d = await kube.apps.readNamespacedDaemonSet({ name, namespace });
        return targetFromTemplate(namespace, description, d.spec?.template, ref('apps/v1', 'DaemonSet', d.metadata));
      }
      case 'cronjob': {
        const c = await kube.batch.readNamespacedCronJob({ name, namespace });
        return targetFromTemplate(namespace, description, c.spec?.jobTemplate.spec?.template, ref('batch/v1', 'CronJob', c.metadata));
      }
      case 'pod': {
        const p = await kube.core.readNamespacedPod({ name, namespace });
        const template: V1PodTemplateSpec = {
          metadata: { labels: p.metadata?.labels ?? {}, annotations: p.metadata?.annotations ?? {} },
          spec: p.spec,
        };
        return targetFromTemplate(namespace, description, template, ref('v1', 'Pod', p.metadata));
      }
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (isNotFound(err)) throw new UsageError(`${description} not found in namespace ${namespace}`, { cause: err });
    throw kubeError(what, err);
  }
}

function ref(apiVersion: string, kind: string, meta: V1ObjectMeta | undefined): WorkloadTarget['ref'] {
  return meta?.name && meta.uid ? { apiVersion, kind, name: meta.name, uid: meta.uid } : undefined;
}
