/**
 * The workload under test, as the probe must impersonate it: the pod template's labels, its
 * proxy environment, its service account and its network twin, read from the API.
 */
import type { V1Container, V1CronJob, V1ObjectMeta, V1Pod, V1PodTemplateSpec } from '@kubernetes/client-node';
import { mapBounded, oncePerKey, READS_AT_ONCE } from '../base/calls.js';
import { UsageError } from '../base/errors.js';
import { apiStatus, isNotFound, type Kube, kubeError } from '../kube/client.js';
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

/** A workload object as read: what the probe copies (its pod template) and whom results are recorded against. */
interface ReadWorkload {
  metadata?: V1ObjectMeta;
  template?: V1PodTemplateSpec;
}

const withTemplate = (o: { metadata?: V1ObjectMeta; spec?: { template?: V1PodTemplateSpec } }): ReadWorkload => ({
  ...(o.metadata && { metadata: o.metadata }),
  ...(o.spec?.template && { template: o.spec.template }),
});

/** A bare pod stands for itself: its own labels, annotations and spec are the template. */
const podAsWorkload = (p: V1Pod): ReadWorkload => ({
  ...(p.metadata && { metadata: p.metadata }),
  template: { metadata: { labels: p.metadata?.labels ?? {}, annotations: p.metadata?.annotations ?? {} }, spec: p.spec },
});

interface WorkloadReader {
  apiVersion: string;
  kind: string;
  read: (kube: Kube, namespace: string, name: string) => Promise<ReadWorkload>;
  /** The namespace's objects of the kind in one request, for a kind named more than once. */
  list?: (kube: Kube, namespace: string) => Promise<ReadWorkload[]>;
}

const READERS: Record<WorkloadKind, WorkloadReader> = {
  deployment: {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    read: async (kube, namespace, name) => withTemplate(await kube.apps.readNamespacedDeployment({ name, namespace })),
    list: async (kube, namespace) => (await kube.apps.listNamespacedDeployment({ namespace })).items.map(withTemplate),
  },
  statefulset: {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    read: async (kube, namespace, name) => withTemplate(await kube.apps.readNamespacedStatefulSet({ name, namespace })),
    list: async (kube, namespace) => (await kube.apps.listNamespacedStatefulSet({ namespace })).items.map(withTemplate),
  },
  daemonset: {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    read: async (kube, namespace, name) => withTemplate(await kube.apps.readNamespacedDaemonSet({ name, namespace })),
    list: async (kube, namespace) => (await kube.apps.listNamespacedDaemonSet({ namespace })).items.map(withTemplate),
  },
  cronjob: {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    read: async (kube, namespace, name) => cronJobWorkload(await kube.batch.readNamespacedCronJob({ name, namespace })),
    list: async (kube, namespace) => (await kube.batch.listNamespacedCronJob({ namespace })).items.map(cronJobWorkload),
  },
  // Never listed: a namespace's pods can be many, and naming many bare pods is rare.
  pod: {
    apiVersion: 'v1',
    kind: 'Pod',
    read: async (kube, namespace, name) => podAsWorkload(await kube.core.readNamespacedPod({ name, namespace })),
  },
};

function cronJobWorkload(c: V1CronJob): ReadWorkload {
  const template = c.spec?.jobTemplate.spec?.template;
  return { ...(c.metadata && { metadata: c.metadata }), ...(template && { template }) };
}

/**
 * The named workloads of one namespace, in the order named. A kind named more than once is
 * listed in one request rather than read by name, object by object (the same objects: a list
 * item is what a read returns); where RBAC allows get but not list, they are read one by one.
 */
export async function resolveWorkloads(kube: Kube, namespace: string, refs: readonly WorkloadRef[]): Promise<WorkloadTarget[]> {
  const named = new Map<WorkloadKind, number>();
  for (const r of refs) named.set(r.kind, (named.get(r.kind) ?? 0) + 1);
  const listOf = oncePerKey(
    (kind: WorkloadKind) => kind,
    async (kind): Promise<Map<string, ReadWorkload> | undefined> => {
      const list = READERS[kind].list;
      if (list === undefined || (named.get(kind) ?? 0) < 2) return undefined;
      try {
        return new Map((await list(kube, namespace)).map((o) => [o.metadata?.name ?? '', o]));
      } catch (err) {
        if (apiStatus(err)?.code === 403) return undefined;
        throw kubeError(`listing ${kind}s in namespace ${namespace}`, err);
      }
    },
  );
  return mapBounded(refs, READS_AT_ONCE, async ({ kind, name }) => {
    const description = `${kind}/${name}`;
    const reader = READERS[kind];
    let found: ReadWorkload | undefined;
    const byName = await listOf(kind);
    if (byName !== undefined) found = byName.get(name);
    else {
      try {
        found = await reader.read(kube, namespace, name);
      } catch (err) {
        if (!isNotFound(err)) throw kubeError(`reading ${description} in namespace ${namespace}`, err);
      }
    }
    if (found === undefined) throw new UsageError(`${description} not found in namespace ${namespace}`);
    return targetFromTemplate(namespace, description, found.template, ref(reader.apiVersion, reader.kind, found.metadata));
  });
}

function ref(apiVersion: string, kind: string, meta: V1ObjectMeta | undefined): WorkloadTarget['ref'] {
  return meta?.name && meta.uid ? { apiVersion, kind, name: meta.name, uid: meta.uid } : undefined;
}
