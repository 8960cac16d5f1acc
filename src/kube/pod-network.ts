/**
 * What in a pod's spec decides where its packets go, beyond the labels NetworkPolicies select.
 * One registry, read by the probe's network twin (controller) and by the audit rules. Pure.
 */
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';

interface NetworkAnnotation {
  /** The twin sets it on the probe too. An address of the workload's own cannot be copied. */
  copy: boolean;
  /** It adds or swaps an interface NetworkPolicy does not cover. */
  secondaryNetwork?: true;
  /** Not copied and can still decide egress (a source address an egress gateway or firewall keys on). */
  decidesEgress?: true;
  why: string;
}

/**
 * Pod annotations that CNIs (Multus, Calico, Cilium, Antrea) and service-mesh injectors (Istio,
 * Linkerd, Kuma) act on when the pod is created, as their documentation gives them.
 */
const NETWORK_ANNOTATIONS = {
  'sidecar.istio.io/inject': { copy: true, why: "decides whether Istio injects its proxy, which redirects the pod's traffic" },
  'linkerd.io/inject': { copy: true, why: "decides whether Linkerd injects its proxy, which redirects the pod's traffic" },
  'kuma.io/sidecar-injection': { copy: true, why: "decides whether Kuma injects its sidecar, which redirects the pod's traffic" },
  'k8s.v1.cni.cncf.io/networks': {
    copy: true,
    secondaryNetwork: true,
    why: 'Multus attaches further interfaces; NetworkPolicy covers only the cluster network',
  },
  'v1.multus-cni.io/default-network': {
    copy: true,
    secondaryNetwork: true,
    why: "Multus replaces the pod's cluster network; NetworkPolicy may not cover it",
  },
  'cni.projectcalico.org/ipv4pools': { copy: true, why: 'the Calico IP pool decides outgoing NAT' },
  'cni.projectcalico.org/ipv6pools': { copy: true, why: 'the Calico IP pool decides outgoing NAT' },
  'ipam.cilium.io/ip-pool': { copy: true, why: "the Cilium IPAM pool decides the pod's source address" },
  'ipam.antrea.io/ippools': { copy: true, why: "the Antrea IP pool decides the pod's source address" },
  'cni.projectcalico.org/ipAddrs': {
    copy: false,
    decidesEgress: true,
    why: "a fixed pod address: the probe cannot take the workload's, and egress gateways or firewalls may key on it",
  },
  'cni.projectcalico.org/ipAddrsNoIpam': {
    copy: false,
    decidesEgress: true,
    why: "a fixed pod address: the probe cannot take the workload's, and egress gateways or firewalls may key on it",
  },
  'ipam.antrea.io/pod-ips': {
    copy: false,
    decidesEgress: true,
    why: "a fixed pod address: the probe cannot take the workload's, and egress gateways or firewalls may key on it",
  },
  'cni.projectcalico.org/floatingIPs': {
    copy: false,
    why: 'inbound NAT to the pod only; it does not route outbound traffic',
  },
} as const satisfies Record<string, NetworkAnnotation>;

type NetworkAnnotationKey = keyof typeof NETWORK_ANNOTATIONS;

export const networkAnnotationKeys = Object.keys(NETWORK_ANNOTATIONS) as NetworkAnnotationKey[];

export function networkAnnotation(key: NetworkAnnotationKey): NetworkAnnotation {
  return NETWORK_ANNOTATIONS[key];
}

/** The annotations of a pod that attach or swap a network NetworkPolicy does not cover. */
export function secondaryNetworks(annotations: Readonly<Record<string, string>> | undefined): string[] {
  return networkAnnotationKeys
    .filter((k) => networkAnnotation(k).secondaryNetwork === true && (annotations?.[k] ?? '') !== '')
    .map((k) => `${k}=${annotations?.[k]}`);
}

/** Service-mesh proxies redirect a pod's traffic with rules in its network namespace. */
const MESH = /^(istio-proxy|istio-init|istio-validation|linkerd-proxy|linkerd-init|kuma-sidecar|kuma-init|consul-dataplane)$/;

const allContainers = (spec: V1PodSpec | undefined): V1Container[] => [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];

/** Containers of a pod that are a service mesh's traffic redirection, by name. */
export function meshContainers(spec: V1PodSpec | undefined): string[] {
  return allContainers(spec)
    .map((c) => c.name)
    .filter((n) => MESH.test(n));
}

const NET_CAPS = new Set(['NET_ADMIN', 'SYS_ADMIN', 'ALL']);

/** Other containers that may rewrite the pod's own routes or packet filter (they share its network namespace). */
export function netAdminContainers(spec: V1PodSpec | undefined): string[] {
  return allContainers(spec)
    .filter((c) => c.securityContext?.privileged === true || (c.securityContext?.capabilities?.add ?? []).some((cap) => NET_CAPS.has(cap)))
    .map((c) => c.name)
    .filter((n) => !MESH.test(n));
}

/** Annotations a separate pod cannot copy and that can still decide egress. */
export function uncopiableNetworkAnnotations(annotations: Readonly<Record<string, string>> | undefined): string[] {
  return networkAnnotationKeys.filter((k) => {
    const rule = networkAnnotation(k);
    return !rule.copy && 'decidesEgress' in rule && (annotations?.[k] ?? '') !== '';
  });
}
