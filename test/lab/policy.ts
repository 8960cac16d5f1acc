import { COMPANION_PORTS, LAB_ADDR, WORKLOAD_IFNAME } from './topology.js';

/**
 * Router filters standing in for the article's `restrict-workload-egress` NetworkPolicy.
 * Only packets arriving from the workload's veth are filtered, in FORWARD (leaving the node)
 * and INPUT (to the node itself: kubelet, the router's other addresses).
 */
export type LabPolicy = 'article' | 'wide-open' | 'https-only' | 'no-dns' | 'dns-open' | 'odd-port';

export const LAB_POLICIES: readonly LabPolicy[] = ['article', 'wide-open', 'https-only', 'no-dns', 'dns-open', 'odd-port'];

export const WORKLOAD_CHAIN = 'EVL-WORKLOAD';

type Family = 4 | 6;

/** The skeleton loaded once into a fresh router namespace (full restore, nothing else there). */
export function baseRuleset(): string {
  return [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    `:${WORKLOAD_CHAIN} - [0:0]`,
    `-A INPUT -i ${WORKLOAD_IFNAME} -j ${WORKLOAD_CHAIN}`,
    `-A FORWARD -i ${WORKLOAD_IFNAME} -j ${WORKLOAD_CHAIN}`,
    // Nothing is allowed until a policy is set.
    `-A ${WORKLOAD_CHAIN} -j DROP`,
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * The chain body for one policy, as an `iptables-restore --noflush` payload: the flush and the
 * refill are committed in one transaction, so no packet sees a half-written chain.
 */
export function policyRuleset(policy: LabPolicy, family: Family): string {
  const rules: string[] = ['-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT'];
  if (family === 6) {
    // CNIs let neighbour discovery through; without it v6 would "drop" at the link layer
    // instead of at the policy, which is not what a cluster does.
    for (const type of ['router-solicitation', 'neighbour-solicitation', 'neighbour-advertisement']) {
      rules.push(`-p ipv6-icmp --icmpv6-type ${type} -j ACCEPT`);
    }
  }
  if (policy === 'wide-open') {
    rules.push('-j ACCEPT');
  } else {
    if (family === 4) {
      // The article's policy: egress only to the companion's proxy ports and to cluster DNS.
      rules.push(`-d ${LAB_ADDR.companion}/32 -p tcp --dport ${COMPANION_PORTS.http} -j ACCEPT`);
      rules.push(`-d ${LAB_ADDR.companion}/32 -p tcp --dport ${COMPANION_PORTS.socks5} -j ACCEPT`);
      if (policy !== 'no-dns') {
        rules.push(`-d ${LAB_ADDR.clusterDns}/32 -p udp --dport 53 -j ACCEPT`);
        rules.push(`-d ${LAB_ADDR.clusterDns}/32 -p tcp --dport 53 -j ACCEPT`);
      }
    }
    if (policy === 'https-only') rules.push('-p tcp --dport 443 -j ACCEPT');
    // The example: one extra rule opening TCP 8443 to anywhere.
    if (policy === 'odd-port') rules.push('-p tcp --dport 8443 -j ACCEPT');
    if (policy === 'dns-open') {
      rules.push('-p udp --dport 53 -j ACCEPT');
      rules.push('-p tcp --dport 53 -j ACCEPT');
    }
    // DROP, not REJECT: most CNIs drop silently, so a blocked connect times out.
    rules.push('-j DROP');
  }
  return ['*filter', `-F ${WORKLOAD_CHAIN}`, ...rules.map((r) => `-A ${WORKLOAD_CHAIN} ${r}`), 'COMMIT', ''].join('\n');
}
