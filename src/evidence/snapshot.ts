/**
 * What was tested, as the API showed it at the time: every egress policy kind the API serves
 * (the namespace's NetworkPolicies and CNI policies, the cluster-scoped kinds), the
 * companion's Service, EndpointSlices and Deployments, the workloads, the probe pods and their
 * nodes, and the cluster's identity. A read that fails is recorded as a gap, never skipped
 * silently: an auditor must see what the bundle does not show.
 */
import { type KubernetesObject, type V1Pod, VersionApi } from '@kubernetes/client-node';
import { PLAN_ENV } from '../../probes/plan.js';
import { companionService } from '../controller/preflight.js';
import { PROXY_VARS, type WorkloadTarget } from '../controller/target.js';
import { apiStatus, type Kube } from '../kube/client.js';
import { readPolicies } from '../kube/policies.js';
import { apiVersionOf, type KindedPolicy, policyKindOf } from '../kube/policy-kinds.js';
import { matchesSelector } from '../kube/selector.js';
import type { PolicySnapshot } from '../report/report.js';

export interface ObjectList {
  apiVersion: 'v1';
  kind: 'List';
  items: KubernetesObject[];
}

export interface ClusterIdentity {
  server: string;
  /** The kube-system namespace's UID: stable for a cluster's life, unlike its URL. */
  kubeSystemUid?: string;
  version?: string;
}

export interface Snapshot {
  cluster: ClusterIdentity;
  /** Every policy kind read (NetworkPolicy, AdminNetworkPolicy, CiliumNetworkPolicy, ...), as served. */
  networkPolicies: ObjectList;
  companion: ObjectList;
  workloads: ObjectList;
  probePods: ObjectList;
  nodes: ObjectList;
  /** What could not be read, and why. */
  gaps: string[];
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
export const REDACTED = '(redacted by egress-verify)';

/**
 * Plain JSON, as the API served it: client-node's model classes carry undefined fields and Dates.
 * managedFields is the API server's bookkeeping, not configuration, and dwarfs the rest; the
 * last-applied annotation repeats the spec, literal env values and all.
 */
function observed<T extends KubernetesObject>(obj: T, apiVersion: string, kind: string): KubernetesObject {
  const { managedFields: _m, annotations, ...metadata } = obj.metadata ?? {};
  const { [LAST_APPLIED]: _l, ...kept } = annotations ?? {};
  const plain = JSON.parse(JSON.stringify({ ...obj, apiVersion, kind, metadata: { ...metadata, annotations: kept } })) as KubernetesObject;
  if (Object.keys(kept).length === 0) delete plain.metadata?.annotations;
  return plain;
}

/**
 * Literal env values (workloads, companions, probe pods) can be credentials, and the bundle goes
 * to people outside the team: every value but the proxy variables and the probe plan (which are
 * evidence, their URL credentials redacted when the bundle is written) is replaced. Names stay.
 */
const KEPT_ENV = new Set([...PROXY_VARS, PLAN_ENV]);

export function redactEnv(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactEnv);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      k === 'env' && Array.isArray(v)
        ? v.map((e: { name?: string; value?: unknown }) =>
            typeof e?.value === 'string' && !KEPT_ENV.has(e.name ?? '') ? { ...e, value: REDACTED } : e,
          )
        : redactEnv(v);
  }
  return out;
}

const list = (items: KubernetesObject[]): ObjectList => ({ apiVersion: 'v1', kind: 'List', items });

async function attempt<T>(gaps: string[], what: string, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    const status = apiStatus(err);
    gaps.push(`${what}: ${status ? `${status.reason || `HTTP ${status.code}`} ${status.message}`.trim() : (err as Error).message}`);
    return undefined;
  }
}

async function readClusterIdentity(kube: Kube, gaps: string[]): Promise<ClusterIdentity> {
  const [ns, version] = await Promise.all([
    attempt(gaps, 'namespace kube-system (cluster identity)', () => kube.core.readNamespace({ name: 'kube-system' })),
    attempt(gaps, 'server version', () => kube.config.makeApiClient(VersionApi).getCode()),
  ]);
  return {
    server: kube.server,
    ...(ns?.metadata?.uid && { kubeSystemUid: ns.metadata.uid }),
    ...(version?.gitVersion && { version: version.gitVersion }),
  };
}

/** The policies as the report carries them: kind, name, version and spec. */
export function policySnapshots(policies: ObjectList): PolicySnapshot[] {
  return policies.items.map((p) => {
    const kind = policyKindOf(p.apiVersion, p.kind);
    return {
      kind: kind?.id ?? p.kind,
      name: p.metadata?.name ?? '',
      ...(kind?.namespaced === false && { clusterScoped: true }),
      ...(p.metadata?.resourceVersion && { resourceVersion: p.metadata.resourceVersion }),
      spec: ((p as { spec?: Record<string, unknown> }).spec ?? {}) as Record<string, unknown>,
    };
  });
}

export const policyList = (policies: readonly KindedPolicy[]): ObjectList =>
  list(policies.map((p) => observed(p.object as KubernetesObject, apiVersionOf(p.kind), p.kind.kind)));

/** Every policy kind served; a kind that could not be listed is a gap. */
export async function readPolicyList(kube: Kube, namespace: string, gaps: string[]): Promise<ObjectList> {
  const read = await attempt(gaps, `policies in ${namespace}`, () => readPolicies(kube, namespace));
  gaps.push(...(read?.warnings ?? []));
  return policyList(read?.policies ?? []);
}

async function readCompanion(kube: Kube, companions: readonly string[], namespace: string, gaps: string[]): Promise<ObjectList> {
  const items: KubernetesObject[] = [];
  for (const url of new Set(companions)) {
    const svc = companionService(url, namespace);
    if (svc === undefined) {
      gaps.push(`companion ${url}: not a cluster Service name, nothing to read`);
      continue;
    }
    const [service, slices, deployments] = await Promise.all([
      attempt(gaps, `companion Service ${svc.namespace}/${svc.name}`, () =>
        kube.core.readNamespacedService({ name: svc.name, namespace: svc.namespace }),
      ),
      attempt(gaps, `EndpointSlices of ${svc.namespace}/${svc.name}`, () =>
        kube.discovery.listNamespacedEndpointSlice({ namespace: svc.namespace, labelSelector: `kubernetes.io/service-name=${svc.name}` }),
      ),
      attempt(gaps, `Deployments in ${svc.namespace}`, () => kube.apps.listNamespacedDeployment({ namespace: svc.namespace })),
    ]);
    if (service) items.push(observed(service, 'v1', 'Service'));
    for (const s of slices?.items ?? []) items.push(observed(s, 'discovery.k8s.io/v1', 'EndpointSlice'));
    // The Deployments behind the Service: those whose pods its selector picks.
    const selector = service?.spec?.selector;
    if (selector && Object.keys(selector).length > 0) {
      for (const d of deployments?.items ?? []) {
        if (matchesSelector({ matchLabels: selector }, d.spec?.template.metadata?.labels ?? {}))
          items.push(redactEnv(observed(d, 'apps/v1', 'Deployment')) as KubernetesObject);
      }
    }
  }
  return list(items);
}

async function readWorkloads(kube: Kube, targets: readonly WorkloadTarget[], gaps: string[]): Promise<ObjectList> {
  const items: KubernetesObject[] = [];
  for (const t of targets) {
    const ref = t.ref;
    if (ref === undefined) {
      // --selector: the workload is whichever pod served as the template; its labels are the identity.
      items.push({ apiVersion: 'v1', kind: 'PodTemplate', metadata: { name: t.description, namespace: t.namespace, labels: t.labels } });
      continue;
    }
    const name = ref.name;
    const namespace = t.namespace;
    const read: Record<string, () => Promise<KubernetesObject>> = {
      Deployment: () => kube.apps.readNamespacedDeployment({ name, namespace }),
      StatefulSet: () => kube.apps.readNamespacedStatefulSet({ name, namespace }),
      DaemonSet: () => kube.apps.readNamespacedDaemonSet({ name, namespace }),
      CronJob: () => kube.batch.readNamespacedCronJob({ name, namespace }),
      Pod: () => kube.core.readNamespacedPod({ name, namespace }),
    };
    const reader = read[ref.kind];
    const obj = reader ? await attempt(gaps, `${t.description}`, reader) : undefined;
    if (obj) items.push(redactEnv(observed(obj, ref.apiVersion, ref.kind)) as KubernetesObject);
  }
  return list(items);
}

async function readNodes(kube: Kube, names: readonly string[], gaps: string[]): Promise<ObjectList> {
  const items: KubernetesObject[] = [];
  for (const name of new Set(names)) {
    const node = await attempt(gaps, `node ${name}`, () => kube.core.readNode({ name }));
    if (node === undefined) continue;
    // Image lists are long and say nothing about egress; identity, version and conditions do.
    const { images: _i, ...status } = node.status ?? {};
    items.push(observed({ ...node, status }, 'v1', 'Node'));
  }
  return list(items);
}

export async function takeSnapshot(
  kube: Kube,
  what: { namespace: string; targets: readonly WorkloadTarget[]; companions: readonly string[]; probePods: readonly V1Pod[] },
): Promise<Snapshot> {
  const gaps: string[] = [];
  const nodeNames = what.probePods.map((p) => p.spec?.nodeName).filter((n): n is string => n !== undefined);
  const [cluster, networkPolicies, companion, workloads, nodes] = await Promise.all([
    readClusterIdentity(kube, gaps),
    readPolicyList(kube, what.namespace, gaps),
    readCompanion(kube, what.companions, what.namespace, gaps),
    readWorkloads(kube, what.targets, gaps),
    readNodes(kube, nodeNames, gaps),
  ]);
  const probePods = list(what.probePods.map((p) => redactEnv(observed(p, 'v1', 'Pod')) as KubernetesObject));
  return { cluster, networkPolicies, companion, workloads, probePods, nodes, gaps };
}
