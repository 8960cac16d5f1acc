/**
 * The check kinds: one entry per kind holds everything the probe knows about it. Adding a kind
 * is an entry here, its runner in checks/ and its test; the compiler demands every field, and
 * kinds.test.ts holds the schemas' kind lists and the table in docs/checks.md to these keys.
 */

import { type Endpoint, urlEndpoint } from './base/endpoint.js';
import type { Check, CheckKind, Observation } from './base/model.js';
import { parsePorts } from './base/ports.js';
import { runCanary } from './checks/canary.js';
import { runCurl } from './checks/curl.js';
import { runDns } from './checks/dns.js';
import { runIcmp } from './checks/icmp.js';
import { runProxyConnect, runProxyHttps } from './checks/proxy.js';
import { runProxyEnv } from './checks/proxy-env.js';
import { runTcp } from './checks/tcp.js';
import { runTcpSweep } from './checks/tcp-sweep.js';
import { runUdp } from './checks/udp.js';

type Of<K extends CheckKind> = Extract<Check, { kind: K }>;

export type Runner<K extends CheckKind> = (
  check: Of<K>,
  signal: AbortSignal,
  companionCa: string | undefined,
) => Promise<Omit<Observation, 'durationMs'>>;

interface Kind<K extends CheckKind> {
  run: Runner<K>;
  /** The target as a report row names it. */
  describe: (check: Of<K>) => string;
  /**
   * Where the traffic goes, to match a control to its check and the control's port to the
   * check's; undefined for a kind that has no single endpoint. Without it a control cannot be
   * checked to stand for the same host, so every kind that dials must give one.
   */
  endpoint: (check: Of<K>) => Endpoint | undefined;
  /** Fields that must be literal addresses: a must-fail check that resolves could pass on a DNS failure. */
  literals: (check: Of<K>) => Array<[field: string, value: string]>;
  /** Fields that must parse as URLs. */
  urls: (check: Of<K>) => Array<[field: string, value: string]>;
  /** Further validation of the check's own fields; throws with the reason. */
  validate?: (check: Of<K>) => void;
  /** Whether a reachable check of this kind, through the companion, can prove another's target up. */
  control: boolean;
  /**
   * Whether the check dials the same place whichever pod sends it, so a control pod can repeat it
   * (control-plan.ts). Lookups through the pod's resolver and proxy checks follow the sender's path.
   */
  direct: (check: Of<K>) => boolean;
  /** How the check uses the companion (CompanionUse). */
  companion: (check: Of<K>) => CompanionUse;
}

/**
 * 'slot': the check holds a tunnel through the companion while it runs, and so takes one of the
 * pod's companion slots. 'own': it opens tunnels within a bound of its own (a sweep's
 * companionConcurrency). 'none': it never opens one.
 */
export type CompanionUse = 'slot' | 'own' | 'none';

const none = (): [] => [];
const always = (): boolean => true;
const never = (): boolean => false;
const slot = (): CompanionUse => 'slot';
const noTunnel = (): CompanionUse => 'none';
const companionUrl = (c: { companion: { url: string } }): Array<[string, string]> => [['companion url', c.companion.url]];
const paired = (c: { pairedAddresses?: string[] }): Array<[string, string]> =>
  (c.pairedAddresses ?? []).map((a) => ['pairedAddresses entry', a]);

export const KINDS: { [K in CheckKind]: Kind<K> } = {
  tcp: {
    run: runTcp,
    describe: (c) => `${c.host}:${c.port}/tcp`,
    endpoint: (c) => ({ host: c.host, port: c.port, protocol: 'tcp' }),
    literals: (c) => [['host', c.host]],
    urls: none,
    control: false,
    direct: always,
    companion: noTunnel,
  },
  'tcp-sweep': {
    run: runTcpSweep,
    describe: (c) => `${c.host}:${c.ports}/tcp`,
    // Many ports: the control proves the host; each port's own tunnel is judged in the sweep.
    endpoint: () => undefined,
    literals: (c) => [['host', c.host]],
    urls: companionUrl,
    validate: (c) => {
      try {
        parsePorts(c.ports);
      } catch (err) {
        throw new Error(`ports: ${(err as Error).message}`);
      }
    },
    control: false,
    direct: never,
    companion: () => 'own',
  },
  udp: {
    run: runUdp,
    describe: (c) => `${c.host}:${c.port}/udp`,
    endpoint: (c) => ({ host: c.host, port: c.port, protocol: 'udp' }),
    literals: (c) => [['host', c.host]],
    urls: none,
    control: false,
    direct: always,
    companion: noTunnel,
  },
  icmp: {
    run: runIcmp,
    describe: (c) => `${c.host} (ICMP echo)`,
    endpoint: (c) => ({ host: c.host, port: 0, protocol: 'icmp' }),
    literals: (c) => [['host', c.host]],
    urls: none,
    control: false,
    direct: always,
    companion: noTunnel,
  },
  curl: {
    run: runCurl,
    describe: (c) => `${c.url} (curl, ${c.mode})`,
    // A pinned address is what curl dials, whatever the URL names.
    endpoint: (c) => ({ ...urlEndpoint(c.url), ...(c.address === undefined ? {} : { host: c.address }) }),
    literals: (c) => (c.address === undefined ? [] : [['address', c.address]]),
    urls: (c) => [['url', c.url]],
    control: false,
    direct: always,
    companion: noTunnel,
  },
  dns: {
    run: runDns,
    describe: (c) => {
      if (c.mode === 'resolve') return `${c.name} via the pod resolver`;
      if (c.mode === 'direct') return `${c.name} @${c.server}:${c.port}/${c.transport}`;
      return `*.${c.zone} via the cluster resolver`;
    },
    // A resolver serves the same port over UDP and TCP (RFC 7766), so a control that reached
    // its TCP port proves the UDP one as well: a refusal there comes from a filter.
    endpoint: (c) => (c.mode === 'direct' ? { host: c.server, port: c.port, protocol: 'tcp' } : undefined),
    literals: (c) => (c.mode === 'direct' ? [['server', c.server]] : []),
    urls: none,
    control: false,
    direct: (c) => c.mode === 'direct',
    companion: noTunnel,
  },
  'proxy-https': {
    run: runProxyHttps,
    describe: (c) => `${c.url} via ${c.companion.url}`,
    endpoint: (c) => urlEndpoint(c.url),
    literals: paired,
    urls: (c) => [['url', c.url], ...companionUrl(c)],
    control: true,
    direct: never,
    companion: slot,
  },
  'proxy-connect': {
    run: runProxyConnect,
    describe: (c) => `${c.host}:${c.port} via ${c.companion.url}`,
    endpoint: (c) => ({ host: c.host, port: c.port, protocol: 'tcp' }),
    literals: paired,
    urls: companionUrl,
    control: true,
    direct: never,
    companion: slot,
  },
  'proxy-env': {
    run: runProxyEnv,
    describe: (c) => `${c.url} via the pod's proxy environment`,
    endpoint: (c) => urlEndpoint(c.url),
    literals: none,
    urls: (c) => [['url', c.url]],
    control: true,
    direct: never,
    companion: slot,
  },
  canary: {
    run: runCanary,
    describe: (c) =>
      `${c.url}${c.secret === undefined ? '' : ` with a canary secret in the ${c.secret.in}`}, to be refused by ${c.companion.url}`,
    endpoint: (c) => urlEndpoint(c.url),
    literals: none,
    urls: (c) => [['url', c.url], ...companionUrl(c)],
    validate: (c) => {
      if (c.control !== undefined || c.controlFrom !== undefined)
        throw new Error("a canary passes on the companion's refusal alone: it takes no control");
    },
    // A refusal proves nothing reachable: it can stand as no other check's control.
    control: false,
    direct: never,
    companion: slot,
  },
};

/** The entry for a check's own kind; one cast here instead of one per caller. */
export function kindOf<K extends CheckKind>(check: Of<K>): Kind<K> {
  return KINDS[check.kind as K] as Kind<K>;
}

export const describeTarget = (check: Check): string => kindOf(check).describe(check);

export const endpointOf = (check: Check): Endpoint | undefined => kindOf(check).endpoint(check);
