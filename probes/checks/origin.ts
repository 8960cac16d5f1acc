/**
 * Whether an HTTP answer came from the origin or from the companion in front of it. A proxy
 * makes its own pages (Squid's error pages after bumping, tinyproxy's 500, a block page), and
 * none of them proves the origin reachable: only an answer that matches what the catalogue
 * declares the origin sends does.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Observation, OriginEvidence } from '../base/model.js';

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>;
  /** The first BODY_LIMIT bytes, latin1. */
  body: string;
}

/** Without a declaration, an origin answers with a success or a redirect; proxies' pages are 4xx/5xx. */
export const DEFAULT_ORIGIN: OriginEvidence = { status: ['2xx', '3xx'] };

const BODY_LIMIT = 64 * 1024;

/** Headers only a proxy sets on a page it made itself (RFC 9209 Proxy-Status, Squid, Smokescreen). */
const PROXY_PAGE_HEADERS = ['proxy-status', 'x-squid-error', 'x-smokescreen-error'];
const PROXY_SERVERS = /squid|tinyproxy|smokescreen|mitmproxy/i;

export function statusDeclared(status: number, declared: readonly string[]): boolean {
  return declared.some((s) => (/^[1-5]xx$/i.test(s) ? Math.floor(status / 100) === Number(s[0]) : Number(s) === status));
}

function header(a: HttpAnswer, name: string): string | undefined {
  const v = a.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Pure: what an HTTP answer seen through the companion proves. */
export function judgeAnswer(a: HttpAnswer, evidence: OriginEvidence = DEFAULT_ORIGIN): Omit<Observation, 'durationMs'> {
  const marker = markerMissing(a, evidence);
  const facts = { httpStatus: a.status };
  if (statusDeclared(a.status, evidence.status) && marker === undefined) {
    return { outcome: 'http-response', class: 'reached', detail: `HTTP ${a.status} from the origin`, facts };
  }
  const byProxy = proxySignature(a);
  const why =
    byProxy === undefined
      ? (marker ?? `status ${a.status} is not one the origin is declared to send`)
      : `made by the companion (${byProxy})`;
  if (a.status >= 500) {
    return { outcome: 'upstream-error', class: 'indeterminate', detail: `HTTP ${a.status}, ${why}: origin not reached`, facts };
  }
  // A refusal page: the companion's own (a signature says so), or one without the origin's
  // marker where the catalogue declares one. Either way the allowed path is closed.
  if ((a.status === 403 || a.status === 407 || a.status === 451) && (byProxy !== undefined || hasMarker(evidence))) {
    return { outcome: 'proxy-refused', class: 'blocked', detail: `HTTP ${a.status}, ${why}: the companion refused`, facts };
  }
  return {
    outcome: 'origin-unproven',
    class: 'indeterminate',
    detail: `HTTP ${a.status}, ${why}: not proven to come from the origin`,
    facts,
  };
}

/** The header that shows the companion made this page itself, as "name: value"; undefined without one. */
function proxySignature(a: HttpAnswer): string | undefined {
  const proxyHeader = PROXY_PAGE_HEADERS.find((h) => header(a, h) !== undefined);
  if (proxyHeader !== undefined) return `${proxyHeader}: ${header(a, proxyHeader)}`;
  return PROXY_SERVERS.test(header(a, 'server') ?? '') ? `server: ${header(a, 'server')}` : undefined;
}

/**
 * Pure: what the answer to a request the companion must refuse (the enforcement canary) proves.
 * Only a refusal the companion made passes: its signature is on it, or it lacks the marker the
 * catalogue declares for the origin. The origin's own answer, whatever its status, is a fail;
 * the companion not reaching the origin says nothing about its policy.
 */
export function judgeRefusal(a: HttpAnswer, evidence: OriginEvidence = DEFAULT_ORIGIN): Omit<Observation, 'durationMs'> {
  const facts = { httpStatus: a.status };
  const marked = hasMarker(evidence);
  // With a marker declared, the marker alone says the origin answered: its 403 is no refusal.
  const fromOrigin = marked ? markerMissing(a, evidence) === undefined : statusDeclared(a.status, evidence.status);
  if (fromOrigin) {
    return { outcome: 'http-response', class: 'reached', detail: `HTTP ${a.status} from the origin: the companion let it through`, facts };
  }
  const byProxy = proxySignature(a);
  const why = byProxy === undefined ? (marked ? 'without the declared origin marker' : 'unsigned') : `made by the companion (${byProxy})`;
  if (a.status >= 500) {
    return {
      outcome: 'upstream-error',
      class: 'indeterminate',
      detail: `HTTP ${a.status}, ${why}: the origin was not reached, nothing was refused`,
      facts,
    };
  }
  if ((a.status === 403 || a.status === 451) && (byProxy !== undefined || marked)) {
    return { outcome: 'proxy-refused', class: 'blocked', detail: `HTTP ${a.status}, ${why}: the companion refused`, facts };
  }
  if (a.status === 401 || a.status === 407) {
    return {
      outcome: 'proxy-refused',
      class: 'indeterminate',
      detail: `HTTP ${a.status}, ${why}: a demand for credentials, not the policy's refusal`,
      facts,
    };
  }
  return {
    outcome: 'origin-unproven',
    class: 'indeterminate',
    detail: `HTTP ${a.status}, ${why}: neither the origin's answer nor the companion's refusal`,
    facts,
  };
}

const hasMarker = (e: OriginEvidence): boolean => e.header !== undefined || e.body !== undefined;

/** Why the answer lacks the declared marker, or undefined when it carries it (or none is declared). */
function markerMissing(a: HttpAnswer, e: OriginEvidence): string | undefined {
  if (e.header !== undefined && header(a, e.header.name) !== e.header.value) return `no "${e.header.name}: ${e.header.value}" header`;
  if (e.body !== undefined && !a.body.includes(e.body)) return `no "${e.body}" in the body`;
  return undefined;
}

/** Reads a response body up to BODY_LIMIT, then lets the rest go. */
export async function bodyPrefix(stream: Readable): Promise<string> {
  let body = '';
  for await (const chunk of stream) {
    body += Buffer.isBuffer(chunk) ? chunk.toString('latin1') : String(chunk);
    if (body.length >= BODY_LIMIT) {
      stream.destroy();
      break;
    }
  }
  return body.slice(0, BODY_LIMIT);
}
