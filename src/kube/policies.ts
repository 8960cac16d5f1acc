/**
 * Reads every policy kind the API serves (discovery per group version) that can govern a
 * namespace's egress: its NetworkPolicies and the CNIs' namespaced kinds, and the cluster-scoped
 * kinds. Only NetworkPolicy is required; a served kind that cannot be listed (RBAC, an error) is a
 * warning that names it, so nothing is claimed about policies that were not read.
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import { apiStatus, type Kube, kubeCall } from './client.js';
import { apiVersionOf, type KindedPolicy, POLICY_KINDS, type PolicyKind, type PolicyObject } from './policy-kinds.js';
import type { Labels } from './selector.js';

export interface PolicyRead {
  policies: KindedPolicy[];
  /** The namespace's labels (kubernetes.io/metadata.name at least: a run's Role may not read namespaces). */
  namespaceLabels: Labels;
  /** Kinds served but not read, each named. */
  warnings: string[];
}

const plain = (kind: PolicyKind, item: unknown): PolicyObject => ({
  ...(JSON.parse(JSON.stringify(item)) as PolicyObject),
  apiVersion: apiVersionOf(kind),
  kind: kind.kind,
});

function notRead(kind: PolicyKind, err: unknown): string {
  const status = apiStatus(err);
  const why =
    status?.code === 403
      ? 'listing it is forbidden (RBAC: grant list on it, read-only)'
      : `listing it failed (${status ? status.message || status.reason || `HTTP ${status.code}` : (err as Error).message})`;
  return `${kind.id} (${apiVersionOf(kind)}) is served but ${why}: the identity proof and the report do not cover it`;
}

/** Which of the group versions are served, and which resources each serves; 404 means none. */
async function servedResources(kube: Kube, warnings: string[]): Promise<Map<string, Set<string>>> {
  const api = kube.config.makeApiClient(CustomObjectsApi);
  const versions = [...new Set(POLICY_KINDS.filter((k) => k.family !== 'kubernetes').map(apiVersionOf))];
  const served = new Map<string, Set<string>>();
  await Promise.all(
    versions.map(async (gv) => {
      const [group = '', version = ''] = gv.split('/');
      try {
        const list = await api.getAPIResources({ group, version });
        served.set(gv, new Set(list.resources.map((r) => r.name)));
      } catch (err) {
        if (apiStatus(err)?.code !== 404)
          warnings.push(`discovery of ${gv} failed (${(err as Error).message.split('\n')[0]}): its policy kinds were not read`);
      }
    }),
  );
  return served;
}

export async function readPolicies(kube: Kube, namespace: string): Promise<PolicyRead> {
  const warnings: string[] = [];
  const api = kube.config.makeApiClient(CustomObjectsApi);
  const [networkPolicies, served, ns] = await Promise.all([
    kubeCall(`listing NetworkPolicies in ${namespace}`, () => kube.networking.listNamespacedNetworkPolicy({ namespace })),
    servedResources(kube, warnings),
    kube.core.readNamespace({ name: namespace }).catch(() => undefined),
  ]);
  const k8s = POLICY_KINDS[0];
  const policies: KindedPolicy[] = networkPolicies.items.map((p) => ({ kind: k8s, object: plain(k8s, p) }));
  const others = POLICY_KINDS.filter((k) => k.family !== 'kubernetes' && served.get(apiVersionOf(k))?.has(k.plural));
  const lists = await Promise.all(
    others.map(async (kind): Promise<KindedPolicy[]> => {
      const where = { group: kind.group, version: kind.version, plural: kind.plural };
      try {
        const listed = (await (kind.namespaced
          ? api.listNamespacedCustomObject({ ...where, namespace })
          : api.listClusterCustomObject(where))) as { items?: unknown[] };
        return (listed.items ?? []).map((item) => ({ kind, object: plain(kind, item) }));
      } catch (err) {
        warnings.push(notRead(kind, err));
        return [];
      }
    }),
  );
  policies.push(...lists.flat());
  if (ns === undefined && policies.some((p) => !p.kind.namespaced))
    warnings.push(`namespace ${namespace} could not be read: cluster-scoped policies were matched on its name label only`);
  return {
    policies,
    namespaceLabels: { ...(ns?.metadata?.labels ?? {}), 'kubernetes.io/metadata.name': namespace },
    warnings: warnings.sort(),
  };
}
