/**
 * The target catalogue (YAML) and its expansion into a probe plan: every must-fail check gets the
 * positive control that makes its "blocked" mean something.
 */
import { isIP, isIPv6 } from 'node:net';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { CatalogueError, UsageError } from '../src/base/errors.js';
import { readPackageFile } from '../src/base/package-root.js';
import { parseYaml } from '../src/base/yaml.js';
import { urlEndpoint } from './base/endpoint.js';
import type { CanarySecret, Check, Companion, OriginEvidence, ProbePlan, ProxyHttpsCheck, TunnelProof } from './base/model.js';
import * as generated from './catalogue-validate.generated.js';
import type { SanctionedException } from './exceptions.js';
import { validatePlan } from './plan.js';

export interface OutsideTarget {
  name: string;
  url: string;
  /**
   * Literal address to dial when the URL names a host; the URL's host when it is literal. With a
   * name, the catalogue pairs the name with these addresses: the control goes by name.
   */
  address?: string;
  address6?: string;
  tcpPorts?: number[];
  udpPorts?: number[];
  /** The host answers datagrams on its udpPorts (QUIC, an echo): only then can silence pass. */
  udpResponder?: boolean;
  /** Send an ICMP echo request to the literal address(es); only a direct observer can prove the host answers echo. */
  icmp?: boolean;
  /** What the origin's own answer looks like; by default a 2xx or 3xx status. */
  origin?: OriginEvidence;
}

export interface Resolver {
  address: string;
  transports?: ('udp' | 'tcp' | 'tls')[];
  /**
   * An HTTPS URL the resolver's host also serves (DoH, a status page), by name or address: its
   * control then goes by that URL, which a hostname-allowlist companion allows, instead of a DNS
   * query tunnelled to the address's ports 53 and 853.
   */
  url?: string;
  origin?: OriginEvidence;
}

export interface Catalogue {
  version: 1;
  deadlineMs?: number;
  outside?: OutsideTarget[];
  resolvers?: Resolver[];
  queryName?: string;
  clusterNames?: string[];
  internal?: { name: string; host: string; port: number }[];
  recursion?: { zone: string; server?: string };
  application?: string[];
  /** What the application URLs' origin answers with. */
  applicationOrigin?: OriginEvidence;
  /** Inspection receipts: whether a request missing from the companion's log fails the run, and its log format. */
  receipts?: { require?: boolean; format?: string };
  /** Destinations one named workload may reach directly (probes/exceptions.ts). */
  exceptions?: SanctionedException[];
  /** The enforcement canary: requests the companion's policy must refuse. */
  mustDeny?: MustDeny[];
}

export interface MustDeny {
  name: string;
  url: string;
  origin?: OriginEvidence;
  secret?: Partial<CanarySecret> & Pick<CanarySecret, 'in'>;
}

/**
 * AWS's documented example access key id: shaped like a real one, so a scanner's credential rule
 * catches it, and valid nowhere.
 */
export const CANARY_SECRET_VALUE = 'AKIAIOSFODNN7EXAMPLE';

function canarySecret(s: MustDeny['secret']): CanarySecret | undefined {
  if (s === undefined) return undefined;
  return { in: s.in, name: s.name ?? (s.in === 'header' ? 'x-api-key' : 'api_key'), value: s.value ?? CANARY_SECRET_VALUE };
}

/** Precompiled from the schema (scripts/validators.ts): compiling it cost every run a third of a second. */
const validateCatalogue = generated.validateCatalogue as ValidateFunction<Catalogue>;

export function parseCatalogue(text: string, source: string): Catalogue {
  let documents: unknown[];
  try {
    documents = parseYaml(text, source).documents;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const reason = (err as Error).message.split('\n')[0] ?? 'unreadable';
    throw new CatalogueError(`${source}: not valid YAML (${reason})`, { cause: err });
  }
  if (documents.length !== 1) throw new CatalogueError(`${source}: a catalogue is one YAML document, not ${documents.length}`);
  const raw = documents[0];
  if (!validateCatalogue(raw)) {
    const e = validateCatalogue.errors?.[0];
    throw new CatalogueError(`${source}: invalid catalogue at ${e?.instancePath || '/'}: ${e?.message ?? 'does not match the schema'}`);
  }
  return raw;
}

export function defaultCatalogue(): Catalogue {
  return parseCatalogue(readPackageFile('probes/catalogue.yaml'), 'probes/catalogue.yaml');
}

/** Lists are concatenated, scalars from `extra` win: users add endpoints without restating ours. */
export function extendCatalogue(base: Catalogue, extra: Catalogue): Catalogue {
  const cat = <T>(a: T[] | undefined, b: T[] | undefined): T[] | undefined => (a || b ? [...(a ?? []), ...(b ?? [])] : undefined);
  const merged: Catalogue = { ...base, ...extra };
  const outside = cat(base.outside, extra.outside);
  const resolvers = cat(base.resolvers, extra.resolvers);
  const clusterNames = cat(base.clusterNames, extra.clusterNames);
  const internal = cat(base.internal, extra.internal);
  const application = cat(base.application, extra.application);
  const exceptions = cat(base.exceptions, extra.exceptions);
  const mustDeny = cat(base.mustDeny, extra.mustDeny);
  return {
    ...merged,
    ...(outside && { outside }),
    ...(resolvers && { resolvers }),
    ...(clusterNames && { clusterNames }),
    ...(internal && { internal }),
    ...(application && { application }),
    ...(exceptions && { exceptions }),
    ...(mustDeny && { mustDeny }),
  };
}

const bare = (host: string): string => host.replace(/^\[|\]$/g, '');

/** What to speak through a tunnel to make a service on this port answer. */
function proofFor(port: number): TunnelProof {
  if (port === 53) return 'dns';
  if (port === 853) return 'dot';
  if (port === 80 || port === 8080) return 'http';
  return 'banner';
}

/** Pure: catalogue + companion → plan. Validated like any other plan before it is returned. */
export function expandCatalogue(catalogue: Catalogue, companion: Companion, companionCa?: string): ProbePlan {
  const deadlineMs = catalogue.deadlineMs ?? 5000;
  const queryName = catalogue.queryName ?? 'example.com';
  const checks: Check[] = [];
  const base = { deadlineMs };
  /** A tunnel control to a literal address, made to answer in the port's protocol. */
  const connectControl = (id: string, host: string, port: number, origin?: OriginEvidence): string => {
    if (!checks.some((c) => c.id === id)) {
      const proof = proofFor(port);
      checks.push({
        ...base,
        id,
        kind: 'proxy-connect',
        expect: 'reachable',
        purpose: 'control',
        host,
        port,
        companion,
        proof,
        ...(proof === 'http' && origin && { origin }),
        ...((proof === 'dns' || proof === 'dot') && { queryName }),
      });
    }
    return id;
  };

  const companionHost = bare(new URL(companion.url).hostname);
  if (isIP(companionHost) === 0)
    checks.push({ ...base, id: `dns/resolve/${companionHost}`, kind: 'dns', mode: 'resolve', expect: 'reachable', name: companionHost });
  for (const name of catalogue.clusterNames ?? []) {
    checks.push({ ...base, id: `dns/resolve/${name}`, kind: 'dns', mode: 'resolve', expect: 'reachable', name });
  }

  for (const target of catalogue.outside ?? []) {
    const { host, port } = urlEndpoint(target.url);
    const literal = isIP(host) !== 0;
    const address = target.address ?? (literal ? host : undefined);
    const paired = literal ? [] : [target.address, target.address6].filter((a): a is string => a !== undefined);
    const control = `proxy-https/${target.name}`;
    checks.push({
      ...base,
      id: control,
      kind: 'proxy-https',
      expect: 'reachable',
      // An IPv6 literal through the companion proves the IPv6 checks' target up; it is not the
      // allowed path of a cluster that may have no IPv6 at all, so it goes with those checks.
      ...(literal && isIPv6(host) && { purpose: 'control' as const }),
      url: target.url,
      companion,
      ...(target.origin && { origin: target.origin }),
      ...(paired.length > 0 && { pairedAddresses: paired }),
    });
    for (const mode of ['env-cleared', 'noproxy'] as const) {
      checks.push({
        ...base,
        id: `curl/${mode}/${target.name}`,
        kind: 'curl',
        expect: 'blocked',
        url: target.url,
        mode,
        control,
        ...(address && { address }),
      });
    }
    if (address === undefined) continue;
    // Raw sockets dial the literal address. A named target's control stands for it through the
    // pairing (a hostname-allowlist companion refuses literals); a literal one is tunnelled to.
    const controlFor = (addr: string, p: number): string =>
      !literal || (addr === host && p === port)
        ? control
        : connectControl(`proxy-connect/${target.name}/${addr}:${p}`, addr, p, target.origin);
    for (const p of target.tcpPorts ?? [port]) {
      checks.push({
        ...base,
        id: `tcp/${target.name}/${address}:${p}`,
        kind: 'tcp',
        expect: 'blocked',
        host: address,
        port: p,
        control: controlFor(address, p),
      });
    }
    if (target.address6 !== undefined) {
      const a6 = target.address6;
      checks.push({
        ...base,
        id: `tcp/${target.name}/${a6}:${port}`,
        kind: 'tcp',
        expect: 'blocked',
        host: a6,
        port,
        control: controlFor(a6, port),
      });
    }
    for (const p of target.udpPorts ?? []) {
      checks.push({
        ...base,
        id: `udp/${target.name}/${address}:${p}`,
        kind: 'udp',
        expect: 'blocked',
        host: address,
        port: p,
        // UDP cannot be tunnelled through CONNECT: the control proves the host, at most.
        control,
        ...(target.udpResponder && { responder: true }),
      });
    }
    if (target.icmp) {
      for (const a of [address, target.address6].filter((a): a is string => a !== undefined)) {
        // A proxy does not carry ICMP: only the same echo from outside every egress policy proves it.
        checks.push({ ...base, id: `icmp/${target.name}/${a}`, kind: 'icmp', expect: 'blocked', host: a, controlFrom: 'direct' });
      }
    }
  }

  for (const resolver of catalogue.resolvers ?? []) {
    const byUrl = resolver.url === undefined ? undefined : resolverUrlControl(resolver, resolver.url);
    if (byUrl !== undefined) checks.push({ ...base, ...byUrl, companion });
    for (const transport of resolver.transports ?? ['udp', 'tcp', 'tls']) {
      const port = transport === 'tls' ? 853 : 53;
      // A resolver's TCP 53 answering through the companion proves the host; UDP cannot be tunnelled.
      const control = byUrl?.id ?? connectControl(`proxy-connect/resolver/${resolver.address}:${port}`, resolver.address, port);
      checks.push({
        ...base,
        id: `dns/direct/${resolver.address}:${port}/${transport}`,
        kind: 'dns',
        mode: 'direct',
        expect: 'blocked',
        server: resolver.address,
        transport,
        port,
        name: queryName,
        control,
      });
    }
  }

  for (const target of catalogue.internal ?? []) {
    // Cluster-internal addresses: a companion should refuse them, so only a direct dial from an
    // identity that no egress policy selects can prove them up.
    checks.push({
      ...base,
      id: `tcp/${target.name}/${target.host}:${target.port}`,
      kind: 'tcp',
      expect: 'blocked',
      host: target.host,
      port: target.port,
      controlFrom: 'direct',
    });
  }

  if (catalogue.recursion !== undefined) {
    const { zone, server } = catalogue.recursion;
    const control = server === undefined ? undefined : connectControl(`proxy-connect/authoritative/${server}:53`, server, 53);
    checks.push({
      ...base,
      id: `dns/recursion/${zone}`,
      kind: 'dns',
      mode: 'recursion',
      expect: 'blocked',
      zone,
      ...(control && { control }),
    });
  }

  for (const url of catalogue.application ?? []) {
    checks.push({
      ...base,
      id: `proxy-env/${url}`,
      kind: 'proxy-env',
      expect: 'reachable',
      url,
      ...(catalogue.applicationOrigin && { origin: catalogue.applicationOrigin }),
    });
  }
  for (const canary of catalogue.mustDeny ?? []) {
    const secret = canarySecret(canary.secret);
    checks.push({
      ...base,
      id: `canary/${canary.name}`,
      kind: 'canary',
      expect: 'blocked',
      url: canary.url,
      companion,
      ...(canary.origin && { origin: canary.origin }),
      ...(secret && { secret }),
    });
  }
  return validatePlan({ version: 1, ...(companionCa && { companionCa }), checks }, 'catalogue');
}

/** A resolver's control by an HTTPS URL its host serves; by name, the name is paired with the address. */
function resolverUrlControl(resolver: Resolver, url: string): Omit<ProxyHttpsCheck, 'companion' | 'deadlineMs'> {
  const named = isIP(urlEndpoint(url).host) === 0;
  return {
    id: `proxy-https/resolver/${resolver.address}`,
    kind: 'proxy-https',
    expect: 'reachable',
    purpose: 'control',
    url,
    ...(resolver.origin && { origin: resolver.origin }),
    ...(named && { pairedAddresses: [resolver.address] }),
  };
}
