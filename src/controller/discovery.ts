/**
 * `run -l` over workloads: every Deployment, StatefulSet, DaemonSet, CronJob, Job and bare Pod
 * whose pod template matches the selector, in one namespace, in the namespaces a
 * `--namespace-selector` picks, or in all of them (`-A`). A pod counts once, under the object
 * that controls it; a pod whose controller is none of those kinds (a standalone ReplicaSet, an
 * operator's custom resource) is probed as that controller, from its first pod, so no matching
 * pod goes untested.
 */
import type {
  V1CronJob,
  V1DaemonSet,
  V1Deployment,
  V1Job,
  V1LabelSelector,
  V1ObjectMeta,
  V1OwnerReference,
  V1Pod,
  V1PodTemplateSpec,
  V1ReplicaSet,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { UsageError } from '../base/errors.js';
import { type Kube, kubeCall } from '../kube/client.js';
import { matchesSelector, parseLabelSelector } from '../kube/selector.js';
import { RUN_LABEL } from './probe-pod.js';
import { targetFromTemplate, type WorkloadTarget, withoutControllerHashes } from './target.js';

/** Where to look: one namespace, those a namespace selector picks, or every namespace. */
export type DiscoveryScope = { namespace: string } | { namespaceSelector: string } | { allNamespaces: true };

export interface ListedObjects {
  deployments: readonly V1Deployment[];
  statefulSets: readonly V1StatefulSet[];
  daemonSets: readonly V1DaemonSet[];
  cronJobs: readonly V1CronJob[];
  jobs: readonly V1Job[];
  replicaSets: readonly V1ReplicaSet[];
  pods: readonly V1Pod[];
}

export interface FoundWorkload {
  namespace: string;
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  template: V1PodTemplateSpec;
}

const controllerOf = (meta: V1ObjectMeta | undefined): V1OwnerReference | undefined =>
  meta?.ownerReferences?.find((o) => o.controller === true);

/** Pure: the workloads whose pod template matches, each pod counted once under its controller. */
export function matchingWorkloads(objects: ListedObjects, selector: V1LabelSelector): FoundWorkload[] {
  const found: FoundWorkload[] = [];
  const matches = (template: V1PodTemplateSpec | undefined): boolean =>
    matchesSelector(selector, withoutControllerHashes(template?.metadata?.labels));
  const add = (apiVersion: string, kind: string, meta: V1ObjectMeta | undefined, template: V1PodTemplateSpec | undefined): void => {
    if (template === undefined || !matches(template)) return;
    found.push({ namespace: meta?.namespace ?? '', apiVersion, kind, name: meta?.name ?? '', uid: meta?.uid ?? '', template });
  };
  for (const o of objects.deployments) add('apps/v1', 'Deployment', o.metadata, o.spec?.template);
  for (const o of objects.statefulSets) add('apps/v1', 'StatefulSet', o.metadata, o.spec?.template);
  for (const o of objects.daemonSets) add('apps/v1', 'DaemonSet', o.metadata, o.spec?.template);
  for (const o of objects.cronJobs) add('batch/v1', 'CronJob', o.metadata, o.spec?.jobTemplate.spec?.template);
  // Pods of these objects are theirs; so are the ReplicaSets of a Deployment and the Jobs of a CronJob.
  const covered = new Set(found.map((f) => f.uid));
  const coverChildren = (items: readonly { metadata?: V1ObjectMeta }[]): void => {
    for (const o of items) {
      const owner = controllerOf(o.metadata);
      if (owner !== undefined && covered.has(owner.uid) && o.metadata?.uid) covered.add(o.metadata.uid);
    }
  };
  coverChildren(objects.replicaSets);
  coverChildren(objects.jobs);
  for (const o of objects.jobs) {
    if (covered.has(o.metadata?.uid ?? '')) continue;
    const before = found.length;
    add('batch/v1', 'Job', o.metadata, o.spec?.template);
    if (found.length > before && o.metadata?.uid) covered.add(o.metadata.uid);
  }
  for (const pod of objects.pods) {
    const labels = pod.metadata?.labels ?? {};
    if (labels[RUN_LABEL] !== undefined || !matchesSelector(selector, withoutControllerHashes(labels))) continue;
    const owner = controllerOf(pod.metadata);
    if (owner !== undefined && covered.has(owner.uid)) continue;
    const template: V1PodTemplateSpec = { metadata: { labels, annotations: pod.metadata?.annotations ?? {} }, spec: pod.spec };
    const namespace = pod.metadata?.namespace ?? '';
    if (owner === undefined) {
      found.push({ namespace, apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '', template });
    } else {
      found.push({ namespace, apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid, template });
      covered.add(owner.uid);
    }
  }
  const order = (f: FoundWorkload): string => `${f.namespace}\u0000${f.kind}\u0000${f.name}`;
  return found.sort((a, b) => order(a).localeCompare(order(b)));
}

export function describeScope(scope: DiscoveryScope): string {
  if ('namespace' in scope) return `namespace ${scope.namespace}`;
  if ('namespaceSelector' in scope) return `the namespaces matching ${scope.namespaceSelector}`;
  return 'any namespace';
}

/** A label selector flag, parsed before the cluster is contacted: a typo is a usage error. */
export function parseSelectorFlag(text: string, flag: string): V1LabelSelector {
  try {
    return parseLabelSelector(text);
  } catch (err) {
    throw new UsageError(`${flag}: ${(err as Error).message}`, { cause: err });
  }
}

/** Reads the scope's workloads (seven list calls, however many namespaces) and picks the matching ones. */
export async function discoverWorkloads(kube: Kube, scope: DiscoveryScope, selectorText: string): Promise<WorkloadTarget[]> {
  const selector = parseSelectorFlag(selectorText, '-l/--selector');
  let inScope: (namespace: string) => boolean = () => true;
  if ('namespaceSelector' in scope) {
    parseSelectorFlag(scope.namespaceSelector, '--namespace-selector');
    const namespaces = await kubeCall(`listing namespaces matching ${scope.namespaceSelector}`, () =>
      kube.core.listNamespace({ labelSelector: scope.namespaceSelector }),
    );
    const names = new Set(namespaces.items.map((n) => n.metadata?.name ?? ''));
    if (names.size === 0) throw new UsageError(`--namespace-selector ${scope.namespaceSelector} matches no namespace`);
    inScope = (namespace) => names.has(namespace);
  }
  const what = (kind: string): string => `listing ${kind} in ${describeScope(scope)}`;
  const ns = 'namespace' in scope ? scope.namespace : undefined;
  const labelSelector = selectorText;
  const [deployments, statefulSets, daemonSets, cronJobs, jobs, replicaSets, pods] = await Promise.all([
    kubeCall(what('deployments'), () =>
      ns ? kube.apps.listNamespacedDeployment({ namespace: ns }) : kube.apps.listDeploymentForAllNamespaces(),
    ),
    kubeCall(what('statefulsets'), () =>
      ns ? kube.apps.listNamespacedStatefulSet({ namespace: ns }) : kube.apps.listStatefulSetForAllNamespaces(),
    ),
    kubeCall(what('daemonsets'), () =>
      ns ? kube.apps.listNamespacedDaemonSet({ namespace: ns }) : kube.apps.listDaemonSetForAllNamespaces(),
    ),
    kubeCall(what('cronjobs'), () => (ns ? kube.batch.listNamespacedCronJob({ namespace: ns }) : kube.batch.listCronJobForAllNamespaces())),
    kubeCall(what('jobs'), () => (ns ? kube.batch.listNamespacedJob({ namespace: ns }) : kube.batch.listJobForAllNamespaces())),
    kubeCall(what('replicasets'), () =>
      ns ? kube.apps.listNamespacedReplicaSet({ namespace: ns }) : kube.apps.listReplicaSetForAllNamespaces(),
    ),
    // Pods are many: the API server filters them (same selector syntax as ours).
    kubeCall(what('pods'), () =>
      ns ? kube.core.listNamespacedPod({ namespace: ns, labelSelector }) : kube.core.listPodForAllNamespaces({ labelSelector }),
    ),
  ]);
  const keep = <T extends { metadata?: V1ObjectMeta }>(items: T[]): T[] => items.filter((o) => inScope(o.metadata?.namespace ?? ''));
  const found = matchingWorkloads(
    {
      deployments: keep(deployments.items),
      statefulSets: keep(statefulSets.items),
      daemonSets: keep(daemonSets.items),
      cronJobs: keep(cronJobs.items),
      jobs: keep(jobs.items),
      replicaSets: keep(replicaSets.items),
      pods: keep(pods.items),
    },
    selector,
  );
  if (found.length === 0) throw new UsageError(`selector ${selectorText} matches no workload in ${describeScope(scope)}`);
  return found.map((f) =>
    targetFromTemplate(f.namespace, `${f.kind.toLowerCase()}/${f.name}`, f.template, {
      apiVersion: f.apiVersion,
      kind: f.kind,
      name: f.name,
      uid: f.uid,
    }),
  );
}
