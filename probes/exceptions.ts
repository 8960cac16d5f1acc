/**
 * Sanctioned exceptions: destinations the catalogue lets one named workload reach directly (the
 * article's TLS-pinning workload in an isolated pod with a direct egress exception). For that
 * workload the direct checks to the destination expect "reachable" instead of "blocked"; every
 * exception is listed in the report, and one past its expiry is not honoured.
 */
import { urlEndpoint } from './base/endpoint.js';
import type { Check, ProbePlan } from './base/model.js';
import { endpointOf } from './kinds.js';

export interface SanctionedException {
  /** KIND/NAME, as --workload names it. */
  workload: string;
  /** The destination as the direct checks dial it: a literal address (or the name a curl check is pinned under) and port. */
  url: string;
  reason: string;
  /** The last day (YYYY-MM-DD, UTC) the exception holds. */
  expires?: string;
}

/** An exception as a run applied it: the checks it turned into "reachable directly". */
export interface ExceptionRow extends SanctionedException {
  status: 'active' | 'expired';
  checks: string[];
}

/** Direct dials (raw TCP, curl without the proxy) to the exception's host and port. */
function dialsTo(check: Check, host: string, port: number): boolean {
  if (check.expect !== 'blocked' || (check.kind !== 'tcp' && check.kind !== 'curl')) return false;
  const same = (e: { host: string; port: number } | undefined): boolean => e !== undefined && e.host === host && e.port === port;
  return same(endpointOf(check)) || (check.kind === 'curl' && same(urlEndpoint(check.url)));
}

export const isExpired = (e: SanctionedException, now: Date): boolean =>
  e.expires !== undefined && now.toISOString().slice(0, 10) > e.expires;

/**
 * Pure: the workload's plan with its active exceptions applied, and a row for each of its
 * exceptions. An expired one changes no check: its destination must be blocked again.
 */
export function applyExceptions(
  plan: ProbePlan,
  exceptions: readonly SanctionedException[],
  workload: string,
  now: Date,
): { plan: ProbePlan; rows: ExceptionRow[] } {
  const rows: ExceptionRow[] = [];
  let checks = plan.checks;
  for (const e of exceptions.filter((x) => x.workload === workload)) {
    const { host, port } = urlEndpoint(e.url);
    const matched = checks.filter((c) => dialsTo(c, host, port)).map((c) => c.id);
    const expired = isExpired(e, now);
    rows.push({ ...e, status: expired ? 'expired' : 'active', checks: matched });
    if (expired) continue;
    checks = checks.map((c): Check => {
      if (!matched.includes(c.id)) return c;
      const { control: _control, controlFrom: _controlFrom, ...direct } = c;
      return { ...direct, expect: 'reachable' };
    });
  }
  return { plan: { ...plan, checks }, rows };
}
