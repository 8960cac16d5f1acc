/**
 * Checks before any pod is created. Each problem is a one-line error (the run cannot prove
 * anything) or a warning carried into the report (the run can, but the reader must know).
 */
import type { V1Endpoint, V1EndpointSlice, V1Pod } from '@kubernetes/client-node';
import { mapBounded, oncePerKey, READS_AT_ONCE } from '../base/calls.js';
import { InfrastructureError, UsageError } from '../base/errors.js';
import { isNotFound, type Kube, kubeCall, kubeError } from '../kube/client.js';
import type { PolicyRead } from '../kube/policies.js';
import { type Endpoint, egressPoliciesFor, POLICY_KINDS } from '../kube/policy-kinds.js';
import type { Labels } from '../kube/selector.js';
import { serviceNamed } from '../kube/service-name.js';
import type { WorkloadTarget } from './target.js';
import { liveDifferences, type TwinDifference } from './twin.js';

export interface Permission {
  verb: string;
  resource: string;
  subresource?: string;
  group?: string;
  /** For a Role limited by resourceNames. */
  name?: string;
  /** Cluster-scoped (nodes, namespaces): asked without a namespace. */
  cluster?: boolean;
}

/**
 * Probe pods and the run object that carries their plans: wherever `run` starts pods. Deletes go
 * by name, never by collection: the names are made per run, so RBAC cannot narrow them further
 * (resourceNames needs names known in advance, and RBAC has no label selection).
 */
export const POD_PERMISSIONS: readonly Permission[] = [
  { verb: 'create', resource: 'pods' },
  { verb: 'get', resource: 'pods' },
  { verb: 'list', resource: 'pods' },
  { verb: 'watch', resource: 'pods' },
  { verb: 'delete', resource: 'pods' },
  { verb: 'get', resource: 'pods', subresource: 'log' },
  { verb: 'create', resource: 'configmaps' },
  { verb: 'delete', resource: 'configmaps' },
  { verb: 'list', resource: 'configmaps' },
];

/** What `run` does through the API in the tested namespace; each is checked with a SelfSubjectAccessReview. */
export const RUN_PERMISSIONS: readonly Permission[] = [
  ...POD_PERMISSIONS,
  { verb: 'get', resource: 'services' },
  { verb: 'list', resource: 'endpointslices', group: 'discovery.k8s.io' },
  { verb: 'list', resource: 'networkpolicies', group: 'networking.k8s.io' },
];

export async function checkNamespace(kube: Kube, namespace: string): Promise<void> {
  try {
    await kube.core.readNamespace({ name: namespace });
  } catch (err) {
    if (isNotFound(err)) throw new UsageError(`namespace "${namespace}" not found`, { cause: err });
    // Forbidden to read namespaces is fine: namespaced RBAC is all a run needs.
    if ((err as { code?: number }).code === 403) return;
    throw kubeError(`reading namespace ${namespace}`, err);
  }
}

/**
 * Reading the other policy kinds (where served): not required, since a denied list is a warning
 * naming the kind, but manifests/rbac.yaml grants them all.
 */
export const POLICY_KIND_PERMISSIONS: readonly Permission[] = POLICY_KINDS.filter((k) => k.family !== 'kubernetes').map((k) => ({
  verb: 'list',
  resource: k.plural,
  group: k.group,
  ...(!k.namespaced && { cluster: true }),
}));

/** `run --record`: the history ConfigMap (by name) and Events. */
export const recordPermissions = (historyName: string): Permission[] => [
  { verb: 'get', resource: 'configmaps', name: historyName },
  { verb: 'update', resource: 'configmaps', name: historyName },
  { verb: 'create', resource: 'events', group: 'events.k8s.io' },
];

/** `run --in-pod`: the probe is added to a live pod as an ephemeral container. */
export const IN_POD_PERMISSIONS: readonly Permission[] = [{ verb: 'update', resource: 'pods', subresource: 'ephemeralcontainers' }];

/** `run --evidence`: the cluster's identity and the probe pods' nodes. */
export const EVIDENCE_PERMISSIONS: readonly Permission[] = [
  { verb: 'get', resource: 'namespaces', name: 'kube-system', cluster: true },
  { verb: 'get', resource: 'nodes', cluster: true },
  { verb: 'list', resource: 'deployments', group: 'apps' },
];

export async function checkPermissions(kube: Kube, namespace: string, permissions: readonly Permission[] = RUN_PERMISSIONS): Promise<void> {
  const denied: string[] = [];
  await Promise.all(
    permissions.map(async (p) => {
      const review = await kubeCall('asking the API server what this identity may do', () =>
        kube.authz.createSelfSubjectAccessReview({
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: {
              resourceAttributes: {
                namespace: p.cluster ? '' : namespace,
                verb: p.verb,
                resource: p.resource,
                group: p.group ?? '',
                subresource: p.subresource ?? '',
                name: p.name ?? '',
              },
            },
          },
        }),
      );
      if (review.status?.allowed !== true)
        denied.push(
          `${p.verb} ${p.resource}${p.subresource ? `/${p.subresource}` : ''}${p.name ? ` ${p.name}` : ''}${p.cluster ? ' (cluster-wide)' : ''}`,
        );
    }),
  );
  if (denied.length > 0)
    throw new InfrastructureError(`RBAC denies what a run needs in namespace ${namespace}: ${denied.sort().join(', ')}`);
}

/** The companion Service a URL like http://egress-guardian-svc:8080 names, with its port (kube/service-name.ts). */
export function companionService(url: string, namespace: string): { name: string; namespace: string; port: number } | undefined {
  const u = new URL(url);
  const svc = serviceNamed(u.hostname, namespace);
  if (svc === undefined) return undefined;
  return { ...svc, port: u.port !== '' ? Number(u.port) : u.protocol === 'http:' ? 80 : 1080 };
}

/** The API sends `endpoints: null` for a Service with no pods (scaled to 0), whatever the type says. */
export function readyEndpoints(slices: readonly V1EndpointSlice[]): number {
  return slices.flatMap((s): (V1Endpoint | null)[] => s.endpoints ?? []).filter((e) => e?.conditions?.ready === true).length;
}

export async function checkCompanion(kube: Kube, url: string, namespace: string, warnings: string[]): Promise<void> {
  const svc = companionService(url, namespace);
  if (svc === undefined) {
    warnings.push(`companion ${url} is not a cluster Service name; its endpoints were not checked`);
    return;
  }
  try {
    await kube.core.readNamespacedService({ name: svc.name, namespace: svc.namespace });
  } catch (err) {
    if (isNotFound(err))
      throw new InfrastructureError(`companion Service ${svc.namespace}/${svc.name} not found (from ${url})`, { cause: err });
    throw kubeError(`reading companion Service ${svc.namespace}/${svc.name}`, err);
  }
  const slices = await kubeCall(`listing EndpointSlices of ${svc.name}`, () =>
    kube.discovery.listNamespacedEndpointSlice({ namespace: svc.namespace, labelSelector: `kubernetes.io/service-name=${svc.name}` }),
  );
  const ready = readyEndpoints(slices.items);
  // Still probe: a companion that is down is the allowed path broken, which the proxy checks
  // prove as failures. Refusing to run would hide that as an infrastructure error.
  if (ready === 0)
    warnings.push(
      `companion Service ${svc.namespace}/${svc.name} has no ready endpoints: the allowed path is down, expect its checks to fail`,
    );
  if (ready === 1)
    warnings.push(`companion Service ${svc.namespace}/${svc.name} has one ready endpoint: a single companion is a single point of failure`);
}

/** Up to 100 of a workload's live pods, by its selector; checkIdentity skips probe pods among them. */
async function listLivePods(kube: Kube, target: Pick<WorkloadTarget, 'namespace' | 'liveSelector'>): Promise<V1Pod[]> {
  const pods = await kubeCall(`listing the workload's pods in ${target.namespace}`, () =>
    kube.core.listNamespacedPod({ namespace: target.namespace, labelSelector: target.liveSelector, limit: 100 }),
  );
  return pods.items;
}

/**
 * The probe must be governed by exactly the egress policies, of every kind read, that govern the
 * live workload pods; otherwise it tests some other policy set. No egress policy at all means
 * bypasses are certain. A policy that cannot be evaluated is named, never counted as proven.
 * Each live pod's network fields are compared with the twin: what differs is returned (it
 * could decide egress, so the run can no longer pass). Pure: the pods are `listLivePods`'s.
 */
export function checkIdentity(
  target: WorkloadTarget,
  probeLabels: Labels,
  read: PolicyRead,
  pods: readonly V1Pod[],
  warnings: string[],
): TwinDifference[] {
  const differences: TwinDifference[] = [];
  const endpoint = (labels: Labels, serviceAccount: string): Endpoint => ({
    namespace: target.namespace,
    labels,
    namespaceLabels: read.namespaceLabels,
    serviceAccount,
  });
  const policiesFor = (labels: Labels, serviceAccount: string): string[] => {
    const { selecting, unknown } = egressPoliciesFor(read.policies, endpoint(labels, serviceAccount));
    for (const u of unknown) warnings.push(`cannot evaluate ${u}: the identity proof does not cover it`);
    return selecting;
  };
  const probeSet = policiesFor(probeLabels, target.serviceAccountName ?? 'default');
  for (const pod of pods) {
    if (pod.metadata?.labels?.['egress-verify.dev/run']) continue;
    const sa = pod.spec?.serviceAccountName ?? 'default';
    const podSet = policiesFor(pod.metadata?.labels ?? {}, sa);
    if (podSet.join(',') !== probeSet.join(',')) {
      throw new UsageError(
        `probe identity differs from pod ${pod.metadata?.name}: egress policies [${podSet.join(', ')}] select the pod, [${probeSet.join(', ')}] the probe`,
      );
    }
    differences.push(...liveDifferences(target.twin, pod.metadata?.name ?? '', { metadata: pod.metadata ?? {}, spec: pod.spec }));
    if (sa !== (target.serviceAccountName ?? 'default'))
      warnings.push(`pod ${pod.metadata?.name} runs as service account ${sa}, not ${target.serviceAccountName ?? 'default'}`);
  }
  if (pods.length === 0)
    warnings.push(`no live pod matches ${target.liveSelector}: the probe's identity could not be compared with the workload's`);
  if (probeSet.length === 0) {
    warnings.push(`no egress policy of any kind read selects ${target.description}: egress is unrestricted, expect bypasses`);
  }
  return differences;
}

export interface WorkloadToCheck {
  target: WorkloadTarget;
  companion: string;
  probeLabels: Labels;
}

export interface WorkloadChecked {
  /** The live pods' differences from the twin (checkIdentity). */
  live: TwinDifference[];
  warnings: string[];
}

/**
 * Each workload's checks against the API: its companion (checkCompanion, and `perCompanion`,
 * e.g. the receipts' permissions) and its identity against its live pods. What workloads share
 * is asked once: a companion however many name it, the live pods of one selector (identical twins
 * have one). Each workload's result, its warnings in their order included, is what checking it
 * alone gives; the first failing workload, in order, fails the run.
 */
export async function checkWorkloads<W extends WorkloadToCheck>(
  kube: Kube,
  workloads: readonly W[],
  read: PolicyRead,
  perCompanion: (kube: Kube, companion: string, namespace: string) => Promise<void> = async () => {},
): Promise<(W & WorkloadChecked)[]> {
  const companionChecked = oncePerKey(
    ({ companion, target }: WorkloadToCheck) => `${target.namespace} ${companion}`,
    async ({ companion, target }): Promise<string[]> => {
      const warnings: string[] = [];
      await checkCompanion(kube, companion, target.namespace, warnings);
      await perCompanion(kube, companion, target.namespace);
      return warnings;
    },
  );
  const livePods = oncePerKey(
    ({ target }: WorkloadToCheck) => `${target.namespace} ${target.liveSelector}`,
    ({ target }) => listLivePods(kube, target),
  );
  return mapBounded(workloads, READS_AT_ONCE, async (w) => {
    const warnings = [...(await companionChecked(w))];
    const live = checkIdentity(w.target, w.probeLabels, read, await livePods(w), warnings);
    return { ...w, live, warnings };
  });
}

/** Pod Security levels that forbid hostNetwork. */
const NO_HOST_NETWORK = new Set(['baseline', 'restricted']);

/**
 * --host-network-probe: the probe pod needs hostNetwork, which only the "privileged" Pod Security
 * level admits. Said before any pod is created; an unreadable namespace leaves it to admission.
 */
export async function checkHostNetworkAllowed(kube: Kube, namespace: string): Promise<void> {
  let level: string | undefined;
  try {
    level = (await kube.core.readNamespace({ name: namespace })).metadata?.labels?.['pod-security.kubernetes.io/enforce'];
  } catch (err) {
    if ((err as { code?: number }).code === 403) return;
    throw kubeError(`reading namespace ${namespace}`, err);
  }
  if (level !== undefined && NO_HOST_NETWORK.has(level))
    throw new UsageError(
      `--host-network-probe: namespace ${namespace} enforces Pod Security "${level}", which forbids hostNetwork; the node's network cannot be probed there`,
    );
}
