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
  const proxyHeader = PROXY_PAGE_HEADERS.find((h) => header(a, h) !== undefined);
  const byProxy =
    proxyHeader !== undefined
      ? `${proxyHeader}: ${header(a, proxyHeader)}`
      : PROXY_SERVERS.test(header(a, 'server') ?? '')
        ? `server: ${header(a, 'server')}`
        : undefined;
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
