/**
 * The live audit's input: a namespace's objects read through the API (read-only), with every
 * served policy kind (cluster-scoped ones too), shaped like manifests so the same rules run on
 * them. A served policy kind that cannot be listed is a warning that names it. Objects a controller owns (ReplicaSets, their pods,
 * probe pods) are left out: their owner carries the template the rules read.
 */
import { type Kube, kubeCall } from '../kube/client.js';
import { readPolicies } from '../kube/policies.js';
import { auditedBody, LIVE_FILE_PREFIX, type ManifestObject } from './manifests.js';

interface Listed {
  metadata?: { name?: string; namespace?: string; ownerReferences?: unknown[] };
}

/** `namespace` undefined: a cluster-scoped object. */
function toManifest(apiVersion: string, kind: string, namespace: string | undefined, item: Listed): ManifestObject {
  // List items carry no apiVersion/kind; JSON round-trip turns client-node's Dates into strings.
  const body = auditedBody(apiVersion, kind, { ...(JSON.parse(JSON.stringify(item)) as Record<string, unknown>), apiVersion, kind });
  const name = item.metadata?.name ?? '';
  const file = `${LIVE_FILE_PREFIX}${namespace === undefined ? '' : `${namespace}/`}${kind}/${name}`;
  return { apiVersion, kind, name, ...(namespace !== undefined && { namespace }), body, location: { file, line: 1 } };
}

export async function readLiveObjects(kube: Kube, namespace: string): Promise<{ objects: ManifestObject[]; warnings: string[] }> {
  const what = (kind: string): string => `listing ${kind} in ${namespace} for the live audit`;
  const [ns, deployments, statefulSets, daemonSets, cronJobs, pods, services, slices, policies] = await Promise.all([
    // Namespaces are cluster-scoped and a run's Role cannot read them: the labels are then unknown.
    kube.core.readNamespace({ name: namespace }).catch((): Listed => ({ metadata: { name: namespace } })),
    kubeCall(what('deployments'), () => kube.apps.listNamespacedDeployment({ namespace })),
    kubeCall(what('statefulsets'), () => kube.apps.listNamespacedStatefulSet({ namespace })),
    kubeCall(what('daemonsets'), () => kube.apps.listNamespacedDaemonSet({ namespace })),
    kubeCall(what('cronjobs'), () => kube.batch.listNamespacedCronJob({ namespace })),
    kubeCall(what('pods'), () => kube.core.listNamespacedPod({ namespace })),
    kubeCall(what('services'), () => kube.core.listNamespacedService({ namespace })),
    kubeCall(what('endpointslices'), () => kube.discovery.listNamespacedEndpointSlice({ namespace })),
    readPolicies(kube, namespace),
  ]);
  const objects = [
    toManifest('v1', 'Namespace', namespace, ns),
    ...deployments.items.map((o) => toManifest('apps/v1', 'Deployment', namespace, o)),
    ...statefulSets.items.map((o) => toManifest('apps/v1', 'StatefulSet', namespace, o)),
    ...daemonSets.items.map((o) => toManifest('apps/v1', 'DaemonSet', namespace, o)),
    ...cronJobs.items.map((o) => toManifest('batch/v1', 'CronJob', namespace, o)),
    ...pods.items.filter((p) => (p.metadata?.ownerReferences ?? []).length === 0).map((o) => toManifest('v1', 'Pod', namespace, o)),
    ...services.items.map((o) => toManifest('v1', 'Service', namespace, o)),
    ...slices.items.map((o) => toManifest('discovery.k8s.io/v1', 'EndpointSlice', namespace, o)),
    ...policies.policies.map((p) =>
      toManifest(p.object.apiVersion ?? '', p.object.kind ?? '', p.kind.namespaced ? namespace : undefined, p.object),
    ),
  ];
  return { objects, warnings: policies.warnings };
}
