/**
 * The lab's fixed addressing plan. Every address lives only inside namespaces the lab creates;
 * no namespace has a link to the root namespace, so nothing here can leave the machine.
 */

export const LAB_ADDR = {
  workload: '10.77.1.2',
  workload6: '2001:db8:1::2',
  /** The router's address on the workload link: the workload's "node" (kubelet on :10250). */
  node: '10.77.1.1',
  companion: '10.77.2.2',
  clusterDns: '10.77.3.2',
  apiServer: '10.77.4.2',
  outsideHttps: '203.0.113.10',
  outsideHttps6: '2001:db8:113::10',
  outsideResolver: '198.51.100.53',
  outsideResolver6: '2001:db8:51::53',
  authDns: '198.51.100.54',
  metadata: '169.254.169.254',
} as const;

export const LAB_NAMES = {
  companionFqdn: 'egress-guardian-svc.production-agents.svc.cluster.local',
  outside: 'outside.test',
  /** The outside resolver's host by name (it serves HTTPS too). */
  resolverHttps: 'resolver.test',
  kubernetes: 'kubernetes.default.svc.cluster.local',
  exfilZone: 'exfil.test',
} as const;

/** The A record every name under the exfil zone gets; nothing listens there. */
export const EXFIL_ANSWER = '203.0.113.99';

export const COMPANION_PORTS = { http: 8080, socks5: 1080, other: 9090 } as const;
export const KUBELET_PORT = 10250;
export const API_SERVER_PORT = 6443;
export const DOT_PORT = 853;
/** Every TCP port of the internet host but 80 and 443 is DNATed to this one listener. */
export const OUTSIDE_ANY_PORT = 65000;

export const WORKLOAD_SEARCH = ['production-agents.svc.cluster.local', 'svc.cluster.local', 'cluster.local'] as const;

/** Namespace roles; the netns name is `<lab id>-<role>`. */
export type NetnsRole = 'rt' | 'wl' | 'co' | 'dns' | 'api' | 'out' | 'ext';

/**
 * One veth pair per leaf namespace. The router end is named `<role>0` and the leaf end `eth0`;
 * both ends are created directly inside the lab namespaces, so interface names never meet the
 * root namespace and cannot collide between concurrent labs.
 */
export interface LeafLink {
  readonly role: Exclude<NetnsRole, 'rt'>;
  readonly routerIfname: string;
  readonly router4: string; // router address, with prefix length
  readonly leaf4: readonly string[]; // leaf addresses, with prefix length
  readonly router6?: string;
  readonly leaf6?: readonly string[];
}

export const LEAF_LINKS: readonly LeafLink[] = [
  {
    role: 'wl',
    routerIfname: 'wl0',
    router4: '10.77.1.1/24',
    leaf4: ['10.77.1.2/24'],
    router6: '2001:db8:1::1/64',
    leaf6: ['2001:db8:1::2/64'],
  },
  {
    role: 'co',
    routerIfname: 'co0',
    router4: '10.77.2.1/24',
    leaf4: ['10.77.2.2/24'],
    router6: '2001:db8:2::1/64',
    leaf6: ['2001:db8:2::2/64'],
  },
  { role: 'dns', routerIfname: 'dns0', router4: '10.77.3.1/24', leaf4: ['10.77.3.2/24'] },
  { role: 'api', routerIfname: 'api0', router4: '10.77.4.1/24', leaf4: ['10.77.4.2/24'] },
  {
    // The "internet host". Kept alone in its namespace so setOutside(false) takes down only it,
    // not the resolvers.
    role: 'out',
    routerIfname: 'out0',
    router4: '203.0.113.1/24',
    leaf4: ['203.0.113.10/24'],
    router6: '2001:db8:113::1/64',
    leaf6: ['2001:db8:113::10/64'],
  },
  {
    // The internet's resolver, the exfil zone's authoritative server and the cloud metadata
    // endpoint (a /32 the router reaches through 198.51.100.53).
    role: 'ext',
    routerIfname: 'ext0',
    router4: '198.51.100.1/24',
    leaf4: ['198.51.100.53/24', '198.51.100.54/24', '169.254.169.254/32'],
    router6: '2001:db8:51::1/64',
    leaf6: ['2001:db8:51::53/64'],
  },
];

/** Routes in the router beyond its connected subnets: [destination, gateway]. */
export const ROUTER_ROUTES: readonly (readonly [string, string])[] = [['169.254.169.254/32', '198.51.100.53']];

export const WORKLOAD_IFNAME = 'wl0';
