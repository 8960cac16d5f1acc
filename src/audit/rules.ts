/**
 * One function per rule of catalogue.ts, each over the inventory. A rule returns hits (object and
 * message); audit.ts adds the id, severity, fix and location. Every function is linear in the
 * workloads or policies, or workloads × policies of one namespace, never objects².
 */
import type { V1Container, V1NetworkPolicyEgressRule } from '@kubernetes/client-node';
import type { SanctionedException } from '../../probes/exceptions.js';
import { meshContainers, netAdminContainers, secondaryNetworks, uncopiableNetworkAnnotations } from '../kube/pod-network.js';
import { policyRef, record } from '../kube/policy-kinds.js';
import { matchesSelector } from '../kube/selector.js';
import type { RuleId } from './catalogue.js';
import {
  allowsPort,
  cidrContains,
  type Ipv4Cidr,
  isInternalIpv4,
  isWideRule,
  PRIVATE_RANGES,
  parseIpv4,
  parseIpv4Cidr,
  ruleReaches,
  rulesOf,
} from './egress.js';
import { arr, type Inventory, longRunningContainers, type Policy, type Sanction, serviceKeyFor, type Workload } from './inventory.js';
import type { ManifestObject } from './manifests.js';
import type { PolicyPath } from './policy-paths.js';
import { coverOf, type DirectPath, describeException, describePorts, directPaths, workloadsNamed } from './sanction.js';

export interface RuleHit {
  subject: ManifestObject;
  message: string;
}

type Rule = (inv: Inventory) => RuleHit[];

const ref = (o: ManifestObject): string => `${o.kind.toLowerCase()}/${o.name}`;
const names = (policies: readonly Policy[]): string => policies.map((p) => p.object.name).join(', ');
const workloadsOf = (inv: Inventory): Workload[] => inv.workloads.filter((w) => !w.isCompanion);
const companionsOf = (inv: Inventory): Workload[] => inv.workloads.filter((w) => w.isCompanion);
function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

const egressRules = (policies: readonly Policy[]): V1NetworkPolicyEgressRule[] => policies.flatMap((p) => rulesOf(p.policy));

/** No egress policy of any kind closes the internet to the pods. */
const open = (w: Workload): boolean => w.egressPolicies.length === 0 && !w.foreign.restricted;

const unrestrictedWorkload: Rule = (inv) =>
  workloadsOf(inv)
    .filter((w) => w.proxy === undefined && open(w))
    .map((w) => ({
      subject: w.object,
      message: `${ref(w.object)}: no Egress NetworkPolicy selects its pods; they reach the internet directly`,
    }));

const proxyAdvisoryOnly: Rule = (inv) =>
  workloadsOf(inv)
    .filter((w) => w.proxy !== undefined && open(w))
    .map((w) => ({
      subject: w.object,
      message: `${ref(w.object)}: HTTPS_PROXY=${w.proxy?.raw} but no Egress NetworkPolicy selects its pods: the proxy is only advisory`,
    }));

const wideEgress: Rule = (inv) => {
  const hits = new Map<Policy, Workload[]>();
  for (const w of workloadsOf(inv)) for (const p of w.egressPolicies) if (p.wide) pushTo(hits, p, w);
  return [...hits].map(([p, ws]) => ({
    subject: p.object,
    message: `networkpolicy/${p.object.name} lets ${ws.map((w) => ref(w.object)).join(', ')} reach any address (${describeWide(p)})`,
  }));
};

function describeWide(p: Policy): string {
  const wide = rulesOf(p.policy).filter(isWideRule);
  return wide
    .map((r) =>
      r.to === undefined || r.to.length === 0 ? 'an egress rule without `to`' : (r.to.map((t) => t.ipBlock?.cidr).find(Boolean) ?? ''),
    )
    .join(', ');
}

/** DNS rules, judged on the union of the policies that select each restricted workload. */
function dnsFindings(inv: Inventory, want: 'missing' | 'udp-only'): RuleHit[] {
  const hits = new Map<Policy, Workload[]>();
  for (const w of inv.workloads) {
    if (!w.egressRestricted) continue;
    const rules = egressRules(w.egressPolicies);
    const udp = rules.some((r) => allowsPort(r, 'UDP', 53, 'dns'));
    const tcp = rules.some((r) => allowsPort(r, 'TCP', 53, 'dns-tcp'));
    const state = !udp ? 'missing' : !tcp ? 'udp-only' : 'ok';
    if (state !== want) continue;
    const first = w.egressPolicies[0];
    if (first !== undefined) pushTo(hits, first, w);
  }
  return [...hits].map(([p, ws]) => ({
    subject: p.object,
    message:
      want === 'missing'
        ? `no egress rule of ${names(ws[0]?.egressPolicies ?? [p])} admits UDP 53 for ${ws.map((w) => ref(w.object)).join(', ')}`
        : `the egress rules of ${names(ws[0]?.egressPolicies ?? [p])} admit DNS on UDP 53 only for ${ws.map((w) => ref(w.object)).join(', ')}`,
  }));
}

const policySelectsNothing: Rule = (inv) => {
  const byNamespace = new Map<string, Workload[]>();
  for (const w of inv.workloads) pushTo(byNamespace, w.namespace, w);
  return inv.policies
    .filter((p) => {
      const selector = p.policy.spec?.podSelector ?? {};
      const empty = Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
      // An empty selector is a namespace-wide default (deny-all and the like): never a typo.
      if (empty) return false;
      return !(byNamespace.get(p.namespace) ?? []).some((w) => matches(p, w));
    })
    .map((p) => ({
      subject: p.object,
      message: `networkpolicy/${p.object.name}: its podSelector ${JSON.stringify(p.policy.spec?.podSelector)} matches no pod template in the manifests`,
    }));
};

const matches = (p: Policy, w: Workload): boolean =>
  p.policy.spec?.podSelector !== undefined && matchesSelector(p.policy.spec.podSelector, w.pod.labels);

/** Egress policies that select a companion's pods. */
function companionPolicies(inv: Inventory): Map<Policy, Workload> {
  const out = new Map<Policy, Workload>();
  for (const c of companionsOf(inv)) for (const p of c.egressPolicies) if (!out.has(p)) out.set(p, c);
  return out;
}

const PRIVATE = PRIVATE_RANGES.map((r) => ({ text: r, cidr: parseIpv4Cidr(r) as Ipv4Cidr }));

const companionPrivateRanges: Rule = (inv) => {
  const hits: RuleHit[] = [];
  for (const p of companionPolicies(inv).keys()) {
    const open = new Set<string>();
    for (const rule of rulesOf(p.policy)) {
      if (rule.to === undefined || rule.to.length === 0) for (const r of PRIVATE) open.add(r.text);
      for (const peer of rule.to ?? []) {
        const block = peer.ipBlock;
        const cidr = typeof block?.cidr === 'string' ? parseIpv4Cidr(block.cidr) : undefined;
        if (cidr === undefined) continue;
        const excepts = arr(block?.except)
          .map((e) => (typeof e === 'string' ? parseIpv4Cidr(e) : undefined))
          .filter((e): e is Ipv4Cidr => e !== undefined);
        for (const r of PRIVATE) if (cidrContains(cidr, r.cidr) && !excepts.some((e) => cidrContains(e, r.cidr))) open.add(r.text);
      }
    }
    if (open.size > 0)
      hits.push({
        subject: p.object,
        message: `networkpolicy/${p.object.name} lets the companion reach ${[...open].join(', ')}: the proxy is a way into the cluster's own networks`,
      });
  }
  return hits;
};

const companionDnsExcepted: Rule = (inv) => {
  const hits: RuleHit[] = [];
  for (const c of companionsOf(inv)) {
    if (c.egressPolicies.length === 0 || c.egressPolicies.some((p) => p.wide && rulesOf(p.policy).some((r) => !r.to?.length))) continue;
    const toDnsPods = egressRules(c.egressPolicies).some(
      (r) => allowsPort(r, 'UDP', 53, 'dns') && (r.to ?? []).some((peer) => peer.ipBlock === undefined),
    );
    if (!toDnsPods)
      hits.push({
        subject: c.egressPolicies[0]?.object ?? c.object,
        message: `${ref(c.object)}: no egress rule admits UDP 53 to cluster DNS pods; with the private ranges excepted the companion may not resolve names`,
      });
  }
  return hits;
};

const proxyHostUnknown: Rule = (inv) =>
  workloadsOf(inv)
    .filter((w) => w.proxy !== undefined && !w.proxy.isLocalhost && w.proxyService === undefined)
    .map((w) => ({
      subject: w.object,
      message: `${ref(w.object)}: HTTPS_PROXY=${w.proxy?.raw} names "${w.proxy?.host}", which is no Service in the manifests${
        serviceKeyFor(w.proxy?.host ?? '', w.namespace) === undefined ? ' (not a Service name)' : ''
      }`,
    }));

const proxyPortBlocked: Rule = (inv) => {
  const hits: RuleHit[] = [];
  for (const w of workloadsOf(inv)) {
    const s = w.proxyService;
    if (w.proxy === undefined || s === undefined || w.egressPolicies.length === 0) continue;
    const servicePort = arr(s.spec?.ports).find((p) => p.port === w.proxy?.port);
    if (servicePort === undefined) {
      hits.push({
        subject: w.object,
        message: `${ref(w.object)}: service/${s.service.name} has no port ${w.proxy.port} (HTTPS_PROXY=${w.proxy.raw})`,
      });
      continue;
    }
    const companions = inv.companionsBehind.get(s.service) ?? [];
    const rules = egressRules(w.egressPolicies);
    const admitted = companions.some((c) => {
      const target = resolveTargetPort(servicePort.targetPort ?? servicePort.port, c);
      return w.egressPolicies.some((p) =>
        rulesOf(p.policy).some((r) => allowsPort(r, 'TCP', target.number ?? -1, target.name) && ruleReaches(r, p.namespace, c.pod)),
      );
    });
    if (!admitted && (companions.length > 0 || !rules.some((r) => allowsPort(r, 'TCP', servicePort.port))))
      hits.push({
        subject: w.object,
        message: `${ref(w.object)}: ${names(w.egressPolicies)} do not admit TCP to the companion behind service/${s.service.name}:${servicePort.port} (HTTPS_PROXY=${w.proxy.raw})`,
      });
  }
  return hits;
};

/** A Service's targetPort as the pod sees it: a number, or a name looked up in the containers' ports. */
function resolveTargetPort(target: unknown, companion: Workload): { number?: number; name?: string } {
  if (typeof target === 'number') {
    const named = arr(companion.spec.containers)
      .flatMap((c) => arr(c.ports))
      .find((p) => p.containerPort === target)?.name;
    return named === undefined ? { number: target } : { number: target, name: named };
  }
  if (typeof target === 'string') {
    const port = arr(companion.spec.containers)
      .flatMap((c) => arr(c.ports))
      .find((p) => p.name === target)?.containerPort;
    return port === undefined ? { name: target } : { number: port, name: target };
  }
  return {};
}

const CLUSTER_SUFFIXES = ['.cluster.local', '.svc', '.local', '.internal'];

/** Is a NO_PROXY entry outside the cluster? Short names and cluster suffixes are inside. */
function isOutsideEntry(entry: string, inv: Inventory, namespace: string): boolean {
  const host = entry
    .replace(/^\*?\./, '.')
    .replace(/:\d+$/, '')
    .toLowerCase();
  if (host === 'localhost' || host === '::1' || host === '[::1]') return false;
  const ip = parseIpv4(host) !== undefined || /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(host) ? parseIpv4Cidr(host) : undefined;
  if (ip !== undefined) return !isInternalIpv4(ip);
  if (host.includes(':')) return true;
  const bare = host.replace(/^\./, '');
  if (!bare.includes('.')) return false;
  if (CLUSTER_SUFFIXES.some((s) => `.${bare}`.endsWith(s))) return false;
  const serviceKey = serviceKeyFor(bare, namespace);
  return serviceKey === undefined || !inv.services.has(serviceKey);
}

const noProxyEntries = (w: Workload): string[] =>
  (w.noProxy ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');

const noProxyBypass: Rule = (inv) => {
  const hits: RuleHit[] = [];
  for (const w of workloadsOf(inv)) {
    if (w.proxy === undefined) continue;
    const entries = noProxyEntries(w);
    const outside = entries.filter((e) => e === '*' || isOutsideEntry(e, inv, w.namespace));
    if (outside.length > 0)
      hits.push({ subject: w.object, message: `${ref(w.object)}: NO_PROXY sends ${outside.join(', ')} around the companion` });
  }
  return hits;
};

const noProxyClusterMissing: Rule = (inv) =>
  workloadsOf(inv)
    .filter((w) => w.proxy !== undefined && !w.proxy.isLocalhost)
    .filter((w) => !noProxyEntries(w).some((e) => e === '*' || /(^|\.)(cluster\.local|svc)$/.test(e.replace(/:\d+$/, ''))))
    .map((w) => ({
      subject: w.object,
      message: `${ref(w.object)}: NO_PROXY=${w.noProxy ?? '(unset)'} has neither .cluster.local nor .svc`,
    }));

const PROXY_CONTAINER = /mitmproxy|squid|envoy|egress|scanner|proxy/i;
const describe = (c: V1Container): string => `${c.name} (${c.image ?? 'no image'})`;

const inPodProxySidecar: Rule = (inv) => {
  const hits: RuleHit[] = [];
  for (const w of workloadsOf(inv)) {
    if (!w.proxy?.isLocalhost) continue;
    const sidecars = longRunningContainers(w.spec).filter((c) => PROXY_CONTAINER.test(c.name ?? '') || PROXY_CONTAINER.test(c.image ?? ''));
    if (sidecars.length > 0)
      hits.push({
        subject: w.object,
        message: `${ref(w.object)}: HTTPS_PROXY=${w.proxy.raw} points at the in-pod ${sidecars.map(describe).join(', ')}; the pod's policy cannot confine the app without confining the scanner`,
      });
  }
  return hits;
};

const configMapSubPath: Rule = (inv) => {
  const hits: RuleHit[] = [];
  for (const c of companionsOf(inv)) {
    const configMapVolumes = new Set(
      arr(c.spec.volumes)
        .filter((v) => v.configMap !== undefined || arr(v.projected?.sources).some((s) => s.configMap !== undefined))
        .map((v) => v.name),
    );
    const mounts = [...arr(c.spec.containers), ...arr(c.spec.initContainers)].flatMap((ct) =>
      arr(ct.volumeMounts)
        .filter((m) => configMapVolumes.has(m.name) && (m.subPath || m.subPathExpr))
        .map((m) => `${ct.name}:${m.mountPath} (volume ${m.name}, subPath ${m.subPath ?? m.subPathExpr})`),
    );
    if (mounts.length > 0)
      hits.push({
        subject: c.object,
        message: `${ref(c.object)} mounts a ConfigMap with subPath, which never sees updates: ${mounts.join(', ')}`,
      });
  }
  return hits;
};

const FETCH = /\b(curl|wget)\b|https?:\/\//i;

const initFetchesInternet: Rule = (inv) => {
  const hits: RuleHit[] = [];
  for (const w of inv.workloads) {
    if (!w.egressRestricted) continue;
    const fetching = arr(w.spec.initContainers).filter(
      (c) => c.restartPolicy !== 'Always' && FETCH.test([...arr(c.command), ...arr(c.args)].join(' ')),
    );
    if (fetching.length > 0)
      hits.push({
        subject: w.object,
        message: `${ref(w.object)}: init container ${fetching.map((c) => c.name).join(', ')} downloads at start-up, but its egress is restricted`,
      });
  }
  return hits;
};

const octal = (mode: number): string => `0${mode.toString(8)}`;

const secretVolumeMode: Rule = (inv) => {
  const hits: RuleHit[] = [];
  for (const w of inv.workloads) {
    const fsGroup = w.spec.securityContext?.fsGroup;
    const problems: string[] = [];
    for (const v of arr(w.spec.volumes)) {
      if (v.secret === undefined || v.secret.defaultMode === undefined) continue;
      const mode: unknown = v.secret.defaultMode;
      if (typeof mode !== 'number')
        problems.push(`volume ${v.name}: defaultMode ${JSON.stringify(mode)} is not a number to kubectl (YAML 1.1)`);
      else if (mode & 0o004) problems.push(`volume ${v.name}: defaultMode ${octal(mode)} is world-readable`);
      else if (fsGroup !== undefined && (mode & 0o040) === 0)
        problems.push(`volume ${v.name}: defaultMode ${octal(mode)} has no group-read bit, so fsGroup ${fsGroup} cannot read it`);
    }
    if (problems.length > 0) hits.push({ subject: w.object, message: `${ref(w.object)}: ${problems.join('; ')}` });
  }
  return hits;
};

/** The part of an EndpointSlice the rule reads (its type makes endpoints and addressType required). */
interface SliceBody {
  metadata?: { labels?: Record<string, string> };
  endpoints?: { conditions?: { ready?: boolean } }[];
}

/** Live only: the EndpointSlice controller writes a slice for every selecting Service, even an empty one. */
const companionNoReadyEndpoints: Rule = (inv) => {
  const hits: RuleHit[] = [];
  for (const service of inv.companionsBehind.keys()) {
    const slices = inv.endpointSlices.filter(
      (s) => s.namespace === service.namespace && (s.body as SliceBody).metadata?.labels?.['kubernetes.io/service-name'] === service.name,
    );
    if (slices.length === 0) continue;
    const ready = slices.flatMap((s) => arr((s.body as SliceBody).endpoints)).filter((e) => e.conditions?.ready === true);
    if (ready.length === 0)
      hits.push({ subject: service, message: `${ref(service)} has no ready endpoint in ${slices.length} EndpointSlice(s)` });
  }
  return hits;
};

const companionSingleReplica: Rule = (inv) =>
  companionsOf(inv)
    .filter((c) => (c.object.kind === 'Deployment' || c.object.kind === 'StatefulSet') && (c.replicas ?? 1) === 1)
    .map((c) => ({ subject: c.object, message: `${ref(c.object)} runs 1 replica` }));

const TUNNEL = /wireguard|openvpn|tailscale|(?<![a-z])(vpn|tor)(?![a-z])/i;

const companionVpnSidecar: Rule = (inv) => {
  const hits: RuleHit[] = [];
  for (const c of companionsOf(inv)) {
    const tunnels = [...arr(c.spec.containers), ...arr(c.spec.initContainers)].filter(
      (ct) => TUNNEL.test(ct.name ?? '') || TUNNEL.test(ct.image ?? ''),
    );
    if (tunnels.length > 0) hits.push({ subject: c.object, message: `${ref(c.object)} runs ${tunnels.map(describe).join(', ')}` });
  }
  return hits;
};

/** A workload's outbound identity: its service account plus any *IDENTITY* variable. */
function identityOf(w: Workload): string {
  const account = w.spec.serviceAccountName ?? w.spec.serviceAccount ?? 'default';
  const vars = arr(w.spec.containers)
    .flatMap((c) => arr(c.env))
    .filter((e) => /identity/i.test(e.name) && typeof e.value === 'string')
    .map((e) => `${e.name}=${e.value}`)
    .sort();
  return [`serviceAccount=${account}`, ...vars].join(', ');
}

const companionSharedIdentity: Rule = (inv) => {
  const byService = new Map<ManifestObject, Map<string, Workload[]>>();
  for (const w of workloadsOf(inv)) {
    if (w.proxyService === undefined) continue;
    const identities = byService.get(w.proxyService.service) ?? new Map<string, Workload[]>();
    const id = identityOf(w);
    pushTo(identities, id, w);
    byService.set(w.proxyService.service, identities);
  }
  return [...byService]
    .filter(([, identities]) => identities.size > 1)
    .map(([service, identities]) => ({
      subject: service,
      message: `service/${service.name} is the companion of ${identities.size} identities: ${[...identities]
        .map(([id, ws]) => `${ws.map((w) => ref(w.object)).join(', ')} (${id})`)
        .join('; ')}`,
    }));
};

/** Paths opened by the policy kinds beyond NetworkPolicy, one hit per policy rule. */
function foreignPaths(inv: Inventory, pick: (w: Workload) => PolicyPath[], because: (p: PolicyPath) => string): RuleHit[] {
  const hits = new Map<string, { path: PolicyPath; workloads: Workload[] }>();
  for (const w of workloadsOf(inv))
    for (const path of pick(w)) {
      const id = `${policyRef(path.policy.kind, path.policy.object)} ${path.rule}`;
      const hit = hits.get(id) ?? { path, workloads: [] };
      hit.workloads.push(w);
      hits.set(id, hit);
    }
  return [...hits].map(([id, { path, workloads }]) => ({
    subject: path.policy.manifest,
    message: `${id} lets ${workloads.map((w) => ref(w.object)).join(', ')} reach ${path.what}${because(path)}`,
  }));
}

const CLUSTER_FAMILIES = new Set(['admin', 'baseline', 'cluster']);

const clusterPolicyAllowsInternet: Rule = (inv) =>
  foreignPaths(
    inv,
    (w) => w.foreign.internet.filter((p) => CLUSTER_FAMILIES.has(p.policy.kind.family)),
    (p) =>
      p.policy.kind.family === 'baseline' || record(p.policy.object.spec).tier === 'Baseline'
        ? ': no NetworkPolicy selects the pods, so the baseline decides'
        : ', overriding their NetworkPolicies',
  );

const cniPolicyAllowsInternet: Rule = (inv) =>
  foreignPaths(
    inv,
    (w) => w.foreign.internet.filter((p) => !CLUSTER_FAMILIES.has(p.policy.kind.family)),
    () => ' directly, around the companion',
  );

const fqdnEgressAllowed: Rule = (inv) =>
  foreignPaths(
    inv,
    (w) => w.foreign.fqdn,
    () => ' by name, around the companion',
  );

/** An Egress NetworkPolicy selecting every pod of the namespace (its rules may still admit DNS). */
const isDefaultDeny = (p: Policy): boolean => {
  const s = p.policy.spec?.podSelector ?? {};
  return p.isEgress && Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0 && !p.wide;
};

const namespaceDefaultDenyMissing: Rule = (inv) => {
  const restricted = new Map<string, Workload[]>();
  for (const w of workloadsOf(inv)) if (w.egressRestricted) pushTo(restricted, w.namespace, w);
  const withDefault = new Set(inv.policies.filter(isDefaultDeny).map((p) => p.namespace));
  return [...restricted]
    .filter(([namespace]) => !withDefault.has(namespace))
    .map(([namespace, ws]) => ({
      subject: inv.namespaces.get(namespace) ?? (ws[0] as Workload).object,
      message: `namespace ${namespace || '(unnamed)'} restricts ${ws.map((w) => ref(w.object)).join(', ')} but has no default-deny Egress policy: a new pod's first connections may leave before its rules exist`,
    }));
};

const hostNetwork: Rule = (inv) =>
  workloadsOf(inv)
    .filter((w) => w.spec.hostNetwork === true)
    .map((w) => ({
      subject: w.object,
      message: `${ref(w.object)}: hostNetwork: true; its pods use the node's network, where no NetworkPolicy applies`,
    }));

const secondaryNetwork: Rule = (inv) =>
  workloadsOf(inv).flatMap((w) => {
    const networks = secondaryNetworks(w.annotations);
    return networks.length === 0
      ? []
      : [{ subject: w.object, message: `${ref(w.object)}: ${networks.join(', ')}; NetworkPolicy does not cover that interface` }];
  });

const twinInexact: Rule = (inv) =>
  workloadsOf(inv).flatMap((w) => {
    const why = [
      ...meshContainers(w.spec).map((c) => `mesh container ${c}`),
      ...netAdminContainers(w.spec).map((c) => `NET_ADMIN container ${c}`),
      ...uncopiableNetworkAnnotations(w.annotations).map((a) => `annotation ${a}`),
    ];
    return why.length === 0
      ? []
      : [{ subject: w.object, message: `${ref(w.object)}: a separate probe pod cannot reproduce ${why.join(', ')}` }];
  });

/**
 * Each direct path, with the active exceptions that cover it, or else the expired ones that
 * would have.
 */
function sanctionedPaths(inv: Inventory): { path: DirectPath; active?: Sanction[]; expired?: Sanction[] }[] {
  const all = inv.sanctions.map((s) => s.exception);
  const active = inv.sanctions.filter((s) => !s.expired).map((s) => s.exception);
  const sanctionOf = new Map(inv.sanctions.map((s) => [s.exception, s]));
  const of = (exceptions: SanctionedException[]): Sanction[] => exceptions.flatMap((e) => sanctionOf.get(e) ?? []);
  return directPaths(workloadsOf(inv)).map((path) => {
    const covering = coverOf(path, active);
    if (covering) return { path, active: of(covering) };
    const lapsed = of(coverOf(path, all) ?? []).filter((s) => s.expired);
    return { path, ...(lapsed.length > 0 && { expired: lapsed }) };
  });
}

const describeAll = (sanctions: readonly Sanction[]): string => sanctions.map((s) => describeException(s.exception)).join(' and ');

const pathText = ({ policy, workload, rule, cidr }: DirectPath): string =>
  `networkpolicy/${policy.object.name} lets ${ref(workload.object)} reach ${cidr} on ${describePorts(rule)} directly, around the companion`;

const directEgressAllowed: Rule = (inv) =>
  sanctionedPaths(inv)
    .filter((s) => s.active === undefined)
    .map(({ path, expired }) => ({
      subject: path.policy.object,
      message: `${pathText(path)}${expired ? `; ${describeAll(expired)} covered it and has expired` : ''}`,
    }));

const exceptionSanctioned: Rule = (inv) =>
  sanctionedPaths(inv).flatMap(({ path, active }) =>
    active ? [{ subject: path.policy.object, message: `${pathText(path)}: sanctioned by ${describeAll(active)}` }] : [],
  );

const exceptionExpired: Rule = (inv) =>
  inv.sanctions
    .filter((s) => s.expired)
    .flatMap((s) =>
      workloadsNamed(s.exception, workloadsOf(inv)).map((w) => ({
        subject: w.object,
        message: `${describeException(s.exception)} expired on ${s.exception.expires}: it sanctions nothing now`,
      })),
    );

export const RULE_CHECKS: Record<RuleId, Rule> = {
  'unrestricted-workload': unrestrictedWorkload,
  'proxy-advisory-only': proxyAdvisoryOnly,
  'wide-egress': wideEgress,
  'dns-egress-missing': (inv) => dnsFindings(inv, 'missing'),
  'dns-udp-only': (inv) => dnsFindings(inv, 'udp-only'),
  'policy-selects-nothing': policySelectsNothing,
  'companion-private-ranges': companionPrivateRanges,
  'companion-dns-excepted': companionDnsExcepted,
  'proxy-host-unknown': proxyHostUnknown,
  'proxy-port-blocked': proxyPortBlocked,
  'no-proxy-bypass': noProxyBypass,
  'no-proxy-cluster-missing': noProxyClusterMissing,
  'in-pod-proxy-sidecar': inPodProxySidecar,
  'configmap-subpath': configMapSubPath,
  'init-fetches-internet': initFetchesInternet,
  'secret-volume-mode': secretVolumeMode,
  'companion-no-ready-endpoints': companionNoReadyEndpoints,
  'companion-single-replica': companionSingleReplica,
  'companion-vpn-sidecar': companionVpnSidecar,
  'companion-shared-identity': companionSharedIdentity,
  'cluster-policy-allows-internet': clusterPolicyAllowsInternet,
  'cni-policy-allows-internet': cniPolicyAllowsInternet,
  'fqdn-egress-allowed': fqdnEgressAllowed,
  'namespace-default-deny-missing': namespaceDefaultDenyMissing,
  'host-network': hostNetwork,
  'secondary-network': secondaryNetwork,
  'direct-egress-allowed': directEgressAllowed,
  'exception-sanctioned': exceptionSanctioned,
  'exception-expired': exceptionExpired,
  'twin-inexact': twinInexact,
};
