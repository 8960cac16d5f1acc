/**
 * Every audit rule as data: id, severity, what it finds, how to fix it. The checks themselves
 * are in rules.ts, one function per id; the rule table in docs/audit.md is this list
 * (catalogue.test.ts holds it to it).
 */
import type { Severity } from './finding.js';

export interface RuleSpec {
  id: string;
  severity: Severity;
  title: string;
  fix: string;
}

export const RULES = [
  {
    id: 'unrestricted-workload',
    severity: 'high',
    title: 'Workload pods are selected by no Egress NetworkPolicy and use no companion',
    fix: 'Select the pods with an Egress NetworkPolicy that admits only the companion Service and cluster DNS, and point HTTPS_PROXY at the companion.',
  },
  {
    id: 'proxy-advisory-only',
    severity: 'high',
    title: 'HTTPS_PROXY is set but no Egress NetworkPolicy selects the pods: the proxy is advisory',
    fix: 'Add an Egress NetworkPolicy selecting these pods that admits only the companion and DNS; a cleared environment or a raw socket otherwise goes straight out.',
  },
  {
    id: 'wide-egress',
    severity: 'critical',
    title: 'An Egress policy lets workload pods reach any address (no `to`, 0.0.0.0/0, or an ipBlock wider than /8)',
    fix: 'Remove the wide rule from policies that select workload pods; only the companion pods get internet egress.',
  },
  {
    id: 'dns-egress-missing',
    severity: 'high',
    title: 'Egress-restricted pods have no DNS exception (UDP 53): names stop resolving, the companion included',
    fix: 'Add an egress rule to the cluster DNS pods (namespaceSelector: {}, podSelector k8s-app: kube-dns) on UDP 53 and TCP 53.',
  },
  {
    id: 'dns-udp-only',
    severity: 'low',
    title: 'The DNS exception admits UDP 53 but not TCP 53: truncated answers cannot be retried over TCP',
    fix: 'Admit TCP 53 to the cluster DNS pods as well as UDP 53.',
  },
  {
    id: 'policy-selects-nothing',
    severity: 'medium',
    title: 'A NetworkPolicy selects no workload in the manifests (a typo in its podSelector?)',
    fix: "Make the policy's podSelector match the workload's pod template labels.",
  },
  {
    id: 'companion-private-ranges',
    severity: 'high',
    title: "The companion's egress does not except 10.0.0.0/8, 172.16.0.0/12 and 192.168.0.0/16",
    fix: "List 10.0.0.0/8, 172.16.0.0/12 and 192.168.0.0/16 under the companion's ipBlock `except`, so the proxy cannot be used to reach cluster and node addresses.",
  },
  {
    id: 'companion-dns-excepted',
    severity: 'info',
    title: 'The companion has no DNS rule to cluster DNS pods; with 10.0.0.0/8 excepted it may not resolve names',
    fix: "Add an egress rule from the companion to the cluster DNS pods on UDP/TCP 53 (the article's template lacks it).",
  },
  {
    id: 'proxy-host-unknown',
    severity: 'high',
    title: 'HTTPS_PROXY names a host that is no Service in the manifests',
    fix: "Point HTTPS_PROXY at the companion Service's name (name, name.namespace or name.namespace.svc.cluster.local).",
  },
  {
    id: 'proxy-port-blocked',
    severity: 'high',
    title: "The workload's egress policies do not admit the companion's proxy port",
    fix: "Admit the Service's target port (TCP) to the companion pods in the workload's egress policy, or fix the port in HTTPS_PROXY.",
  },
  {
    id: 'no-proxy-bypass',
    severity: 'medium',
    title: 'NO_PROXY is `*` or names outside hosts: that traffic skips the scanner',
    fix: 'Keep NO_PROXY to localhost, 127.0.0.1 and cluster-internal names (.cluster.local, .svc).',
  },
  {
    id: 'no-proxy-cluster-missing',
    severity: 'low',
    title: 'NO_PROXY lacks .cluster.local / .svc: in-cluster calls are sent to the companion',
    fix: 'Add .cluster.local and .svc to NO_PROXY.',
  },
  {
    id: 'in-pod-proxy-sidecar',
    severity: 'high',
    title: 'A scanner/proxy sidecar runs in the workload pod and HTTPS_PROXY points at localhost',
    fix: 'Move the scanner into its own pod behind a Service (the companion); NetworkPolicy cannot tell containers of one pod apart.',
  },
  {
    id: 'configmap-subpath',
    severity: 'medium',
    title: 'The companion mounts a ConfigMap with subPath: updates never reach the file',
    fix: 'Mount the ConfigMap as a directory (no subPath), or restart the companion on every change.',
  },
  {
    id: 'init-fetches-internet',
    severity: 'medium',
    title: 'An init container of an egress-restricted pod fetches from the internet (curl, wget, a URL)',
    fix: 'Bake the files into an image and copy them into an emptyDir from an init container; egress lockdown blocks the download.',
  },
  {
    id: 'secret-volume-mode',
    severity: 'medium',
    title: 'A Secret volume is world-readable, or unreadable to the fsGroup (no group-read bit), or its mode is not a number',
    fix: 'Use defaultMode: 0640 (YAML 1.1 octal, 416 decimal) with securityContext.fsGroup.',
  },
  {
    id: 'companion-no-ready-endpoints',
    severity: 'medium',
    title: "The companion Service has no ready endpoint: the workloads' only way out is down",
    fix: 'Make the companion pods Ready (their readiness probe, image, logs) and run two or more; do not open direct egress as a stopgap.',
  },
  {
    id: 'companion-single-replica',
    severity: 'info',
    title: 'The companion runs one replica: while it restarts every workload behind it has no egress',
    fix: 'Run two or more replicas (with a PodDisruptionBudget) if egress downtime matters; the failure is closed, not open.',
  },
  {
    id: 'companion-vpn-sidecar',
    severity: 'medium',
    title: 'A VPN or tunnel container (wireguard, openvpn, tailscale, tor) runs in the companion pod',
    fix: 'Remove it; exit-IP rotation belongs to an egress gateway, not to the scanning pod.',
  },
  {
    id: 'companion-shared-identity',
    severity: 'medium',
    title: 'Workloads with different identities share one companion',
    fix: 'Deploy one companion (Deployment, Service, policy) per identity, so credentials stay isolated.',
  },
  {
    id: 'cluster-policy-allows-internet',
    severity: 'critical',
    title:
      'An AdminNetworkPolicy or ClusterNetworkPolicy (Admin tier) Allows workload pods the internet ahead of their NetworkPolicies, or a Baseline one does for pods no NetworkPolicy selects',
    fix: 'Narrow the rule to the companion pods, or Pass the workload namespaces to their NetworkPolicies; a cluster-wide allow overrides every namespace policy.',
  },
  {
    id: 'cni-policy-allows-internet',
    severity: 'critical',
    title:
      'A Cilium or Calico policy lets workload pods reach any address (toEntities world/all, a CIDR wider than /8, a Calico Allow to such nets ahead of any Deny)',
    fix: "Remove the rule for workload pods (CNI allows add to the NetworkPolicies'); only the companion pods get internet egress.",
  },
  {
    id: 'fqdn-egress-allowed',
    severity: 'high',
    title:
      'A policy allows workload pods to named hosts directly (Cilium toFQDNs, domainNames, Calico domains): a path around the companion',
    fix: 'Reach those hosts through the companion (HTTPS_PROXY) and remove the FQDN allow from policies that select workload pods.',
  },
  {
    id: 'namespace-default-deny-missing',
    severity: 'info',
    title:
      'A namespace with egress-restricted workloads has no default-deny Egress policy: new pods may get out before their own rules exist',
    fix: "Add a NetworkPolicy with podSelector: {} and policyTypes: [Egress] (admitting only DNS) to the namespace; whether it also closes a new pod's first second depends on the engine (kube-router programs per-pod rules).",
  },
  {
    id: 'host-network',
    severity: 'critical',
    title: "Workload pods run on the node's network (hostNetwork): NetworkPolicy does not apply to them",
    fix: "Remove hostNetwork. A pod that must stay on the node's network needs a node firewall, proven with `run --host-network-probe`.",
  },
  {
    id: 'secondary-network',
    severity: 'high',
    title: 'Workload pods get a further or replaced network (Multus): NetworkPolicy does not cover that interface',
    fix: 'Remove the network attachment, or restrict that network outside Kubernetes (a MultiNetworkPolicy, a firewall on its segment) and prove it separately.',
  },
  {
    id: 'direct-egress-allowed',
    severity: 'high',
    title:
      'An Egress NetworkPolicy lets workload pods reach an outside address directly (an ipBlock outside the private, loopback and link-local ranges) and no sanctioned exception covers it',
    fix: 'Reach the address through the companion and remove the ipBlock. A workload that must go direct (it pins TLS) gets a rule for one address and port and a catalogue exception naming it, with a reason and an expiry.',
  },
  {
    id: 'exception-sanctioned',
    severity: 'info',
    title: "A direct path is the catalogue's sanctioned exception: that workload, that one address, that TCP port",
    fix: 'Nothing, while the reason holds; review the exception before it expires.',
  },
  {
    id: 'exception-expired',
    severity: 'medium',
    title:
      "A catalogue exception for an audited workload is past its expiry: it sanctions nothing, and the workload's direct path is a finding again",
    fix: 'Close the direct path (its NetworkPolicy rule) or renew the exception with a new `expires` and the reason it still holds.',
  },
  {
    id: 'twin-inexact',
    severity: 'low',
    title:
      "Something that decides the workload's egress cannot be reproduced in a separate probe pod (a fixed address, a mesh proxy, a NET_ADMIN container)",
    fix: '`egress-verify run` is at best inconclusive for it: use `run --in-pod` (the probe inside a live pod), or remove what a separate pod cannot reproduce.',
  },
] as const satisfies readonly RuleSpec[];

export type RuleId = (typeof RULES)[number]['id'];

export const RULE_IDS: readonly RuleId[] = RULES.map((r) => r.id);

const byId = new Map<string, RuleSpec>(RULES.map((r) => [r.id, r]));

export const ruleSpec = (id: string): RuleSpec | undefined => byId.get(id);
