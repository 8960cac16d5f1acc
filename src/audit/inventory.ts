/**
 * The manifests as the rules see them: pod templates (every workload kind), Services,
 * NetworkPolicies and Namespaces, indexed by namespace, and which pods are companions (the pods
 * behind a Service that some workload's HTTPS_PROXY names). Built once, in O(objects ×
 * policies): rules then only look things up.
 */
import type { V1Container, V1NetworkPolicy, V1PodSpec, V1Service } from '@kubernetes/client-node';
import { noProxyOf, proxyFor } from '../../probes/base/proxy-env.js';
import { isExpired, type SanctionedException } from '../../probes/exceptions.js';
import { policyKindOf } from '../kube/policy-kinds.js';
import type { Labels } from '../kube/selector.js';
import { matchesSelector } from '../kube/selector.js';
import { serviceNamed } from '../kube/service-name.js';
import { hasWideRule, type PodIdentity } from './egress.js';
import { isRecord, type ManifestObject, TEMPLATE_PATHS } from './manifests.js';
import { type ForeignEgress, type ForeignPolicy, foreignEgress } from './policy-paths.js';

export interface ProxySetting {
  /** The variable's value as written. */
  raw: string;
  host: string;
  port: number;
  isLocalhost: boolean;
}

/** A Service a proxy variable names, resolved like cluster DNS would (name, name.ns, name.ns.svc[.cluster.local]). */
export interface ProxyService {
  service: ManifestObject;
  spec: V1Service['spec'];
  namespace: string;
}

export interface Workload {
  object: ManifestObject;
  /** "" when the manifest names no namespace. */
  namespace: string;
  pod: PodIdentity;
  /** The pod template's annotations (CNIs act on some of them). */
  annotations: Labels;
  spec: V1PodSpec;
  replicas: number | undefined;
  proxy?: ProxySetting;
  noProxy?: string;
  proxyService?: ProxyService;
  /** Egress policies of its namespace that select its pods. */
  egressPolicies: Policy[];
  /** Selected by an Egress policy and none of those lets traffic go anywhere. */
  egressRestricted: boolean;
  /** What the other policy kinds (AdminNetworkPolicy, Cilium, Calico, ...) do to its egress. */
  foreign: ForeignEgress;
  isCompanion: boolean;
}

export interface Policy {
  object: ManifestObject;
  namespace: string;
  policy: V1NetworkPolicy;
  isEgress: boolean;
  wide: boolean;
}

/** A catalogue exception (probes/exceptions.ts) as of the audit's date. */
export interface Sanction {
  exception: SanctionedException;
  expired: boolean;
}

export const sanctionsAt = (exceptions: readonly SanctionedException[], now: Date): Sanction[] =>
  exceptions.map((exception) => ({ exception, expired: isExpired(exception, now) }));

export interface Inventory {
  workloads: Workload[];
  policies: Policy[];
  /** Policies of the kinds beyond NetworkPolicy (policy-kinds.ts). */
  foreignPolicies: ForeignPolicy[];
  services: Map<string, ManifestObject>;
  /** The companion pods behind each Service a proxy variable names. */
  companionsBehind: Map<ManifestObject, Workload[]>;
  /** Only the API has these (a live audit); manifests never do. */
  endpointSlices: ManifestObject[];
  /** Namespace objects by name, where given. */
  namespaces: Map<string, ManifestObject>;
  namespaceLabels: (namespace: string) => Labels;
  /** The catalogue's sanctioned exceptions, as of the audit's date (none unless --catalogue gives them). */
  sanctions: readonly Sanction[];
}

const nsOf = (o: ManifestObject): string => o.namespace ?? '';
const key = (namespace: string, name: string): string => `${namespace}/${name}`;

function at(body: Record<string, unknown>, path: readonly string[]): Record<string, unknown> | undefined {
  let node: unknown = body;
  for (const step of path) node = isRecord(node) ? node[step] : undefined;
  return isRecord(node) ? node : undefined;
}

function stringLabels(value: unknown): Labels {
  const labels: Record<string, string> = {};
  if (isRecord(value)) for (const [k, v] of Object.entries(value)) if (typeof v === 'string') labels[k] = v;
  return labels;
}

/** Containers that run for the pod's life: regular ones and native sidecars (restartPolicy Always). */
export function longRunningContainers(spec: V1PodSpec): V1Container[] {
  return [...arr(spec.containers), ...arr(spec.initContainers).filter((c) => c.restartPolicy === 'Always')];
}

export const arr = <T>(v: T[] | undefined): T[] => (Array.isArray(v) ? v : []);

/** Each variable as the first container that sets it (to a literal) has it. */
function proxyEnvironment(containers: readonly V1Container[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const c of containers)
    for (const e of arr(c.env)) if (typeof e.value === 'string' && e.value !== '' && !(e.name in env)) env[e.name] = e.value;
  return env;
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'socks5:': 1080, 'socks5h:': 1080, 'socks:': 1080 };

export function parseProxy(raw: string): ProxySetting | undefined {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    return undefined;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port === '' ? (DEFAULT_PORTS[url.protocol] ?? 80) : Number(url.port);
  const isLocalhost = host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  return { raw, host, port, isLocalhost };
}

/** The Service key (namespace/name) a proxy host names, if it names one (kube/service-name.ts). */
export function serviceKeyFor(host: string, fromNamespace: string): string | undefined {
  const svc = serviceNamed(host, fromNamespace);
  return svc === undefined ? undefined : key(svc.namespace, svc.name);
}

/** How many objects the rules judge: pod templates, Services, NetworkPolicies (a Namespace alone says nothing). */
export function auditedCount(objects: readonly ManifestObject[]): number {
  return objects.filter((o) => o.kind === 'Service' || o.kind === 'NetworkPolicy' || TEMPLATE_PATHS[o.kind] !== undefined).length;
}

export function buildInventory(objects: readonly ManifestObject[], sanctions: readonly Sanction[] = []): Inventory {
  const services = new Map<string, ManifestObject>();
  const endpointSlices: ManifestObject[] = [];
  const namespaces = new Map<string, Labels>();
  const namespaceObjects = new Map<string, ManifestObject>();
  const policiesByNamespace = new Map<string, Policy[]>();
  const policies: Policy[] = [];
  const foreignPolicies: ForeignPolicy[] = [];
  const templates: { object: ManifestObject; template: Record<string, unknown> }[] = [];

  for (const o of objects) {
    const policyKind = policyKindOf(o.apiVersion, o.kind);
    if (policyKind !== undefined && policyKind.family !== 'kubernetes') {
      const metadata = {
        ...(isRecord(o.body.metadata) ? o.body.metadata : {}),
        name: o.name,
        ...(policyKind.namespaced && { namespace: nsOf(o) }),
      };
      foreignPolicies.push({ kind: policyKind, object: { ...o.body, metadata }, manifest: o });
      continue;
    }
    if (o.kind === 'Service') services.set(key(nsOf(o), o.name), o);
    else if (o.kind === 'EndpointSlice') endpointSlices.push(o);
    else if (o.kind === 'Namespace') {
      namespaces.set(o.name, stringLabels(at(o.body, ['metadata'])?.labels));
      namespaceObjects.set(o.name, o);
    } else if (policyKind?.family === 'kubernetes') {
      const policy = o.body as V1NetworkPolicy;
      const types = policy.spec?.policyTypes;
      // As the API server defaults it: Egress when listed, or (unset) when egress rules exist.
      const isEgress = Array.isArray(types) && types.length > 0 ? types.includes('Egress') : (policy.spec?.egress?.length ?? 0) > 0;
      const entry: Policy = { object: o, namespace: nsOf(o), policy, isEgress, wide: isEgress && hasWideRule(policy) };
      policies.push(entry);
      const list = policiesByNamespace.get(entry.namespace) ?? [];
      list.push(entry);
      policiesByNamespace.set(entry.namespace, list);
    } else {
      const path = TEMPLATE_PATHS[o.kind];
      const template = path === undefined ? undefined : at(o.body, path);
      if (template !== undefined && isRecord(template.spec)) templates.push({ object: o, template });
    }
  }

  const namespaceLabels = (namespace: string): Labels => ({
    ...(namespaces.get(namespace) ?? {}),
    ...(namespace !== '' && { 'kubernetes.io/metadata.name': namespace }),
  });

  const workloads: Workload[] = templates.map(({ object, template }) => {
    const namespace = nsOf(object);
    const labels = stringLabels(at(template, ['metadata'])?.labels);
    const spec = template.spec as V1PodSpec;
    const containers = arr(spec.containers);
    const env = proxyEnvironment(containers);
    // The proxy of the application's HTTPS traffic (probes/base/proxy-env.ts).
    const proxyRaw = proxyFor('https', env);
    const proxy = proxyRaw === undefined ? undefined : parseProxy(proxyRaw);
    const noProxy = noProxyOf(env);
    const serviceKey = proxy === undefined || proxy.isLocalhost ? undefined : serviceKeyFor(proxy.host, namespace);
    const service = serviceKey === undefined ? undefined : services.get(serviceKey);
    const egressPolicies = (policiesByNamespace.get(namespace) ?? []).filter(
      (p) => p.isEgress && matchesSelector(p.policy.spec?.podSelector ?? {}, labels),
    );
    const replicas = at(object.body, ['spec'])?.replicas;
    const endpoint = {
      namespace,
      labels,
      namespaceLabels: namespaceLabels(namespace),
      serviceAccount: spec.serviceAccountName ?? 'default',
    };
    return {
      object,
      namespace,
      pod: { namespace, labels, namespaceLabels: namespaceLabels(namespace) },
      annotations: stringLabels(at(template, ['metadata'])?.annotations),
      spec,
      replicas: typeof replicas === 'number' ? replicas : undefined,
      ...(proxyRaw !== undefined && { proxy: proxy ?? { raw: proxyRaw, host: proxyRaw, port: 0, isLocalhost: false } }),
      ...(noProxy !== undefined && { noProxy }),
      ...(service !== undefined && {
        proxyService: { service, spec: (service.body as V1Service).spec, namespace: nsOf(service) },
      }),
      egressPolicies,
      egressRestricted: egressPolicies.length > 0 && !egressPolicies.some((p) => p.wide),
      foreign: foreignEgress(foreignPolicies, endpoint, egressPolicies.length > 0),
      isCompanion: false,
    };
  });

  // Companions: the pods behind every Service some workload's proxy variable names.
  const proxyServices = new Map<string, ProxyService>();
  for (const w of workloads)
    if (w.proxyService) proxyServices.set(key(w.proxyService.namespace, w.proxyService.service.name), w.proxyService);
  const companionsBehind = new Map<ManifestObject, Workload[]>();
  const workloadsByNamespace = new Map<string, Workload[]>();
  for (const w of workloads) {
    const list = workloadsByNamespace.get(w.namespace);
    if (list === undefined) workloadsByNamespace.set(w.namespace, [w]);
    else list.push(w);
  }
  for (const s of proxyServices.values()) {
    const selector = s.spec?.selector;
    if (selector === undefined || Object.keys(selector).length === 0) continue;
    const behind = (workloadsByNamespace.get(s.namespace) ?? []).filter((w) => matchesSelector({ matchLabels: selector }, w.pod.labels));
    for (const w of behind) w.isCompanion = true;
    companionsBehind.set(s.service, behind);
  }
  // A proxy variable that names no Service (a typo, localhost) leaves its namespace's companion
  // unnamed: then the pods behind a Service that have internet egress and no proxy of their own
  // are taken to be it, so a typo is reported once and not also as "wide egress" on the companion.
  const unresolved = new Set(workloads.filter((w) => w.proxy !== undefined && w.proxyService === undefined).map((w) => w.namespace));
  const servicesByNamespace = new Map<string, V1Service['spec'][]>();
  for (const s of services.values()) {
    const list = servicesByNamespace.get(nsOf(s)) ?? [];
    list.push((s.body as V1Service).spec);
    servicesByNamespace.set(nsOf(s), list);
  }
  for (const w of workloads) {
    if (w.isCompanion || w.proxy !== undefined || !unresolved.has(w.namespace) || !w.egressPolicies.some((p) => p.wide)) continue;
    w.isCompanion = (servicesByNamespace.get(w.namespace) ?? []).some(
      (spec) =>
        spec?.selector !== undefined &&
        Object.keys(spec.selector).length > 0 &&
        matchesSelector({ matchLabels: spec.selector }, w.pod.labels),
    );
  }
  return {
    workloads,
    policies,
    foreignPolicies,
    services,
    companionsBehind,
    endpointSlices,
    namespaces: namespaceObjects,
    namespaceLabels,
    sanctions,
  };
}
