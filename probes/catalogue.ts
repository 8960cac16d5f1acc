/**
 * The target catalogue (YAML) and its expansion into a probe plan: every must-fail check gets the
 * positive control that makes its "blocked" mean something.
 */
import { isIP } from 'node:net';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { load } from 'js-yaml';
import { CatalogueError } from '../src/errors.js';
import { readPackageFile } from '../src/package-root.js';
import type { Check, Companion, ProbePlan } from './model.js';
import { validatePlan } from './plan.js';
import { urlEndpoint } from './verdict.js';

export interface OutsideTarget {
  name: string;
  url: string;
  /** Literal address to dial when the URL names a host; the URL's host when it is literal. */
  address?: string;
  address6?: string;
  tcpPorts?: number[];
  udpPorts?: number[];
}

export interface Catalogue {
  version: 1;
  deadlineMs?: number;
  outside?: OutsideTarget[];
  resolvers?: { address: string; transports?: ('udp' | 'tcp' | 'tls')[] }[];
  queryName?: string;
  clusterNames?: string[];
  internal?: { name: string; host: string; port: number }[];
  recursion?: { zone: string; server?: string };
  application?: string[];
}

const ajv = new Ajv2020({ allErrors: false, strict: false });
const validateCatalogue = ajv.compile<Catalogue>(JSON.parse(readPackageFile('probes/catalogue.schema.json')));

export function parseCatalogue(text: string, source: string): Catalogue {
  let raw: unknown;
  try {
    raw = load(text);
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0] ?? 'unreadable';
    throw new CatalogueError(`${source}: not valid YAML (${reason})`, { cause: err });
  }
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
  return {
    ...merged,
    ...(outside && { outside }),
    ...(resolvers && { resolvers }),
    ...(clusterNames && { clusterNames }),
    ...(internal && { internal }),
    ...(application && { application }),
  };
}

const bare = (host: string): string => host.replace(/^\[|\]$/g, '');

/** Pure: catalogue + companion → plan. Validated like any other plan before it is returned. */
export function expandCatalogue(catalogue: Catalogue, companion: Companion, companionCa?: string): ProbePlan {
  const deadlineMs = catalogue.deadlineMs ?? 5000;
  const checks: Check[] = [];
  const base = { deadlineMs };
  const connectControl = (id: string, host: string, port: number): string => {
    if (!checks.some((c) => c.id === id)) checks.push({ ...base, id, kind: 'proxy-connect', expect: 'reachable', host, port, companion });
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
    const address = target.address ?? (isIP(host) !== 0 ? host : undefined);
    const control = `proxy-https/${target.name}`;
    checks.push({ ...base, id: control, kind: 'proxy-https', expect: 'reachable', url: target.url, companion });
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
    // Raw sockets dial the literal address, so their control must reach that same address.
    const sameHost = address === host;
    for (const p of target.tcpPorts ?? [port]) {
      const ctl = sameHost && p === port ? control : connectControl(`proxy-connect/${target.name}/${address}:${p}`, address, p);
      checks.push({
        ...base,
        id: `tcp/${target.name}/${address}:${p}`,
        kind: 'tcp',
        expect: 'blocked',
        host: address,
        port: p,
        control: ctl,
      });
    }
    if (target.address6 !== undefined) {
      const ctl = connectControl(`proxy-connect/${target.name}/${target.address6}:${port}`, target.address6, port);
      checks.push({
        ...base,
        id: `tcp/${target.name}/${target.address6}:${port}`,
        kind: 'tcp',
        expect: 'blocked',
        host: target.address6,
        port,
        control: ctl,
      });
    }
    for (const p of target.udpPorts ?? []) {
      const ctl = sameHost ? control : connectControl(`proxy-connect/${target.name}/${address}:${port}`, address, port);
      checks.push({
        ...base,
        id: `udp/${target.name}/${address}:${p}`,
        kind: 'udp',
        expect: 'blocked',
        host: address,
        port: p,
        control: ctl,
      });
    }
  }

  const queryName = catalogue.queryName ?? 'example.com';
  for (const resolver of catalogue.resolvers ?? []) {
    // A resolver's TCP 53 through the companion proves the host answers; UDP cannot be tunnelled.
    const tcp53 = connectControl(`proxy-connect/resolver/${resolver.address}:53`, resolver.address, 53);
    for (const transport of resolver.transports ?? ['udp', 'tcp', 'tls']) {
      const port = transport === 'tls' ? 853 : 53;
      const control = transport === 'tls' ? connectControl(`proxy-connect/resolver/${resolver.address}:853`, resolver.address, 853) : tcp53;
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
    const control = connectControl(`proxy-connect/${target.name}/${target.host}:${target.port}`, target.host, target.port);
    checks.push({
      ...base,
      id: `tcp/${target.name}/${target.host}:${target.port}`,
      kind: 'tcp',
      expect: 'blocked',
      host: target.host,
      port: target.port,
      control,
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
    });
  }
  return validatePlan({ version: 1, ...(companionCa && { companionCa }), checks }, 'catalogue');
}
