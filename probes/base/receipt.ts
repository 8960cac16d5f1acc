/**
 * The inspection receipt's marker: what a proxied check carries so that the companion's own log
 * can show it inspected that very request. One module for the probe that sends it and the
 * controller that looks for it in the companion's log.
 */
import type { Check, ProbePlan, ProxyEnvCheck, ProxyHttpsCheck } from './model.js';

/** The query parameter that carries the marker: request-line logs (mitmproxy, Squid, Envoy) show it. */
export const RECEIPT_PARAM = 'egress-verify-receipt';
/** The same marker as a header, for companions whose log format records headers instead. */
export const RECEIPT_HEADER = 'x-egress-verify-receipt';

/**
 * Checks whose request goes through the companion as HTTP it can read: an intercepting companion
 * logs their request line. Tunnel proofs (DNS, banners) are not HTTP and carry no marker.
 */
export type ReceiptCheck = ProxyHttpsCheck | ProxyEnvCheck;
export const carriesReceipt = (check: Check): check is ReceiptCheck => check.kind === 'proxy-https' || check.kind === 'proxy-env';

/** The URL with the marker appended to its query; the origin ignores a parameter it does not know. */
export function markedUrl(url: string, marker: string | undefined): string {
  if (marker === undefined) return url;
  const u = new URL(url);
  u.searchParams.append(RECEIPT_PARAM, marker);
  return u.toString();
}

export const receiptHeaders = (marker: string | undefined): Record<string, string> =>
  marker === undefined ? {} : { [RECEIPT_HEADER]: marker };

/**
 * 'seen': the companion logged the marked request. 'unseen': the origin answered through the
 * companion, but its log does not show the request. 'not-through': the request did not get
 * through (a refusal, a down origin): nothing to inspect, the check's own verdict says why.
 */
export type ReceiptStatus = 'seen' | 'unseen' | 'not-through';

export interface Receipt {
  check: string;
  workload?: string;
  companion: string;
  marker: string;
  status: ReceiptStatus;
}

/**
 * Pure: every receipt-carrying check gets a marker unique to the run (its id has a random part),
 * the workload's plan and the check. Not for checks that are only controls: a companion may
 * rightly refuse them, and a refused request has nothing to inspect.
 */
export function markPlan(plan: ProbePlan, runId: string, workload: number): ProbePlan {
  return {
    ...plan,
    checks: plan.checks.map((c, i) =>
      carriesReceipt(c) && c.purpose === undefined ? { ...c, receipt: `ev-${runId}-${workload}-${i}` } : c,
    ),
  };
}
