/**
 * What an egress rule of a NetworkPolicy allows, as the API server and CNI read it: absent
 * `to`/`ports` mean "any", a port defaults to TCP, `endPort` makes a range, and a peer without
 * `namespaceSelector` stays in the policy's namespace. Pure.
 */
import type { V1NetworkPolicy, V1NetworkPolicyEgressRule, V1NetworkPolicyPeer } from '@kubernetes/client-node';
import { type Labels, matchesSelector } from '../kube/selector.js';

/** ipBlocks shorter than this are "the internet" for the audit (0.0.0.0/0, 0.0.0.0/1, ::/0...). */
export const WIDE_PREFIX = 8;

export const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] as const;

export interface Ipv4Cidr {
  network: number;
  prefix: number;
}

export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const [address, bits] = text.trim().split('/', 2);
  const network = parseIpv4(address ?? '');
  const prefix = bits === undefined ? 32 : Number(bits);
  if (network === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
  return { network, prefix };
}

/** Does `outer` contain every address of `inner`? */
export function cidrContains(outer: Ipv4Cidr, inner: Ipv4Cidr): boolean {
  if (outer.prefix > inner.prefix) return false;
  if (outer.prefix === 0) return true;
  const shift = 32 - outer.prefix;
  return Math.floor(outer.network / 2 ** shift) === Math.floor(inner.network / 2 ** shift);
}

/** Loopback, link-local and private: addresses of the node and the cluster, never "the outside". */
const INTERNAL_IPV4 = ['127.0.0.0/8', '169.254.0.0/16', ...PRIVATE_RANGES].map((r) => parseIpv4Cidr(r) as Ipv4Cidr);

export const isInternalIpv4 = (cidr: Ipv4Cidr): boolean => INTERNAL_IPV4.some((r) => cidrContains(r, cidr));

/** Prefix length of an IPv4 or IPv6 CIDR; undefined when it is not one. */
export function prefixLength(cidr: string): number | undefined {
  const m = /\/(\d{1,3})$/.exec(cidr.trim());
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

export const rulesOf = (policy: V1NetworkPolicy): V1NetworkPolicyEgressRule[] => policy.spec?.egress ?? [];

/** The rule lets traffic go anywhere: no `to`, or an ipBlock wider than /8. */
export function isWideRule(rule: V1NetworkPolicyEgressRule): boolean {
  if (rule.to === undefined || rule.to.length === 0) return true;
  return rule.to.some((peer) => {
    const cidr = peer.ipBlock?.cidr;
    if (typeof cidr !== 'string') return false;
    const prefix = prefixLength(cidr);
    return prefix !== undefined && prefix < WIDE_PREFIX;
  });
}

export const hasWideRule = (policy: V1NetworkPolicy): boolean => rulesOf(policy).some(isWideRule);

export const portNumber = (port: unknown): number | undefined =>
  typeof port === 'number' ? port : typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : undefined;

/** Does the rule admit this destination port? A named port matches the container port's name. */
export function allowsPort(rule: V1NetworkPolicyEgressRule, protocol: 'TCP' | 'UDP', port: number, portName?: string): boolean {
  if (rule.ports === undefined || rule.ports.length === 0) return true;
  return rule.ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    const n = portNumber(p.port);
    if (n === undefined) return portName !== undefined && p.port === portName;
    if (n === port) return true;
    return typeof p.endPort === 'number' && port >= n && port <= p.endPort;
  });
}

/** A pod, for peer matching: its namespace ("" when unspecified), labels, and its namespace's labels. */
export interface PodIdentity {
  namespace: string;
  labels: Labels;
  namespaceLabels: Labels;
}

/**
 * Does the peer select the pod? ipBlocks are taken to match: pod addresses are not in
 * manifests, and the audit prefers a missed finding to a false one here.
 */
export function peerSelects(peer: V1NetworkPolicyPeer, policyNamespace: string, pod: PodIdentity): boolean {
  if (peer.ipBlock !== undefined) return true;
  if (peer.namespaceSelector === undefined) {
    if (pod.namespace !== policyNamespace) return false;
  } else if (!matchesSelector(peer.namespaceSelector, pod.namespaceLabels)) return false;
  return peer.podSelector === undefined || matchesSelector(peer.podSelector, pod.labels);
}

export function ruleReaches(rule: V1NetworkPolicyEgressRule, policyNamespace: string, pod: PodIdentity): boolean {
  if (rule.to === undefined || rule.to.length === 0) return true;
  return rule.to.some((peer) => peerSelects(peer, policyNamespace, pod));
}
