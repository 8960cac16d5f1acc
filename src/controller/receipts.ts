/**
 * Inspection receipts: after the probes, the companion's own log must show each marked request
 * (probes/receipt.ts). A pass otherwise proves only that traffic went through the companion, not
 * that its scanner read it. The companion's pods are found behind its Service and their logs read
 * through the API (`pods/log`), bounded in time and bytes.
 */
import type { CheckResult, ProbePlan } from '../../probes/base/model.js';
import { carriesReceipt, RECEIPT_HEADER, RECEIPT_PARAM, type Receipt, type ReceiptStatus } from '../../probes/base/receipt.js';
import type { AuditFinding } from '../audit/finding.js';
import { UsageError } from '../base/errors.js';
import { apiStatus, type Kube } from '../kube/client.js';
import { companionService, type Permission } from './preflight.js';

/** The marker in a logged URL's query... */
const IN_QUERY = `[?&]${RECEIPT_PARAM}=`;
/** ...whole: a URL the log cut short (mitmdump's "…") does not count. */
const MARKER = '(?<marker>[A-Za-z0-9-]+)(?=[\\s&#"]|$)';

/**
 * Log formats that record the request line, each anchored on its own line shape so that another
 * line quoting a URL does not count. With a CONNECT-only companion (no TLS interception) no
 * format can show the marker: its log has only the tunnel's host:port.
 */
export const LOG_FORMATS = {
  /**
   * mitmdump's flow line, "10.0.0.5:41234: GET https://host/?… HTTP/1.1". At flow_detail 1 it cuts
   * the URL to the terminal's width (COLUMNS; 80 without a terminal): the companion image sets
   * COLUMNS=4096. At flow_detail 2 and above, the request's marker header is printed too.
   */
  mitmproxy: new RegExp(`^(?:\\S+: [A-Z]+ \\S*${IN_QUERY}|\\s+${RECEIPT_HEADER}: )${MARKER}`),
  /** Squid's native access.log (needs `strip_query_terms off`; the default logs the URL without its query). */
  squid: new RegExp(`^\\d+\\.\\d+\\s+\\d+ \\S+ [A-Z_]+/\\d+ \\d+ [A-Z]+ \\S*${IN_QUERY}${MARKER}`),
  /** Envoy's default access log format: `[START_TIME] "METHOD PATH PROTOCOL" …`. */
  envoy: new RegExp(`^\\[[^\\]]+\\] "[A-Z]+ \\S*${IN_QUERY}${MARKER}\\S* [^"]+"`),
} as const;
export type LogFormatName = keyof typeof LOG_FORMATS;

export const DEFAULT_LOG_FORMAT: LogFormatName = 'mitmproxy';

/** A preset's name, or a regular expression with a named group `marker`. */
export function parseLogFormat(spec: string): RegExp {
  if (Object.hasOwn(LOG_FORMATS, spec)) return LOG_FORMATS[spec as LogFormatName];
  let re: RegExp;
  try {
    re = new RegExp(spec);
  } catch (err) {
    throw new UsageError(`--receipt-format: neither a preset (${Object.keys(LOG_FORMATS).join(', ')}) nor a valid regular expression`, {
      cause: err,
    });
  }
  if (!spec.includes('(?<marker>'))
    throw new UsageError('--receipt-format: the regular expression needs a named group (?<marker>...) for the marker');
  return re;
}

/** Pure: the markers a log shows, one match per line. */
export function markersSeen(log: string, format: RegExp): Set<string> {
  const seen = new Set<string>();
  for (const line of log.split('\n')) {
    const marker = format.exec(line)?.groups?.marker;
    if (marker !== undefined) seen.add(marker);
  }
  return seen;
}

/** What one probed workload sent: its marked plan, through which companion. */
export interface MarkedPlan {
  workload: string;
  companion: string;
  plan: ProbePlan;
}

/** Pure: one receipt per marked check of each plan, judged by its result and the companion's log. */
export function receiptsOf(plans: readonly MarkedPlan[], results: readonly CheckResult[], seen: ReadonlySet<string>): Receipt[] {
  return plans.flatMap(({ workload, companion, plan }) =>
    plan.checks.filter(carriesReceipt).flatMap((check) => {
      if (check.receipt === undefined) return [];
      const result = results.find((r) => r.id === check.id && r.workload === workload);
      const status: ReceiptStatus = seen.has(check.receipt) ? 'seen' : result?.observation.class === 'reached' ? 'unseen' : 'not-through';
      return [{ check: check.id, workload, companion, marker: check.receipt, status }];
    }),
  );
}

export const INSPECTION_NOT_LOGGED = {
  id: 'inspection-not-logged',
  fix: "Turn the companion's request log on in a format that records the URL (a preset of --receipt-format, or a regular expression with a (?<marker>) group), and make sure it intercepts TLS: a CONNECT-only companion never sees the request.",
} as const;

/**
 * Pure: one finding per companion whose log lacks a request that went through it. Asked for
 * (--receipts, the catalogue's `receipts.require`), it fails the run; otherwise it is a warning.
 * A log that could not be read proves nothing either way: asked for, the run is inconclusive.
 */
export function receiptFindings(
  receipts: readonly Receipt[],
  unread: ReadonlyMap<string, string>,
  required: boolean,
  namespace: string,
): AuditFinding[] {
  const companions = [...new Set([...receipts.map((r) => r.companion), ...unread.keys()])].sort();
  return companions.flatMap((companion): AuditFinding[] => {
    const svc = companionService(companion, namespace);
    const object = { kind: 'Service', namespace: svc?.namespace ?? namespace, name: svc?.name ?? companion };
    const base = { ruleId: INSPECTION_NOT_LOGGED.id, fix: INSPECTION_NOT_LOGGED.fix, object };
    const why = unread.get(companion);
    if (why !== undefined)
      return [
        {
          ...base,
          severity: required ? 'high' : 'low',
          message: `the log of companion ${companion} could not be read (${why}): no request is proven inspected`,
          ...(required && { decides: 'inconclusive' as const }),
        },
      ];
    const unseen = receipts.filter((r) => r.companion === companion && r.status === 'unseen');
    if (unseen.length === 0) return [];
    const through = receipts.filter((r) => r.companion === companion && r.status !== 'not-through').length;
    return [
      {
        ...base,
        severity: required ? 'high' : 'low',
        message: `${unseen.length} of ${through} requests that went through companion ${companion} are not in its log: ${unseen.map((r) => r.check).join(', ')}`,
        ...(required && { decides: 'fail' as const }),
      },
    ];
  });
}

/** Reading the companion's log: its Service (for the selector), its pods, their logs. */
export const RECEIPT_PERMISSIONS: readonly Permission[] = [
  { verb: 'get', resource: 'services' },
  { verb: 'list', resource: 'pods' },
  { verb: 'get', resource: 'pods', subresource: 'log' },
];

/** Bounds of one read: companion pods read, and bytes per container (the tail of the run's window). */
const MAX_PODS = 20;
const MAX_LOG_BYTES = 4 * 1024 * 1024;

/**
 * The logs of every container of the pods behind the companion's Service, since the run began
 * (a few seconds of slack for clock skew). Throws with a one-line reason when they cannot be read.
 */
export async function readCompanionLog(kube: Kube, companion: string, namespace: string, since: Date): Promise<string> {
  const svc = companionService(companion, namespace);
  if (svc === undefined) throw new Error(`${companion} is not a cluster Service name`);
  const call = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      const s = apiStatus(err);
      throw new Error(`${what}: ${s ? `${s.reason || s.code} ${s.message}`.trim() : (err as Error).message}`, { cause: err });
    }
  };
  const service = await call(`reading Service ${svc.namespace}/${svc.name}`, () =>
    kube.core.readNamespacedService({ name: svc.name, namespace: svc.namespace }),
  );
  const selector = Object.entries(service.spec?.selector ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  if (selector === '') throw new Error(`Service ${svc.namespace}/${svc.name} selects no pods`);
  const pods = await call(`listing the pods of ${svc.name}`, () =>
    kube.core.listNamespacedPod({ namespace: svc.namespace, labelSelector: selector, limit: MAX_PODS }),
  );
  if (pods.items.length === 0) throw new Error(`no pod behind Service ${svc.namespace}/${svc.name}`);
  const sinceSeconds = Math.ceil((Date.now() - since.getTime()) / 1000) + 10;
  const logs = await Promise.all(
    pods.items.flatMap((pod) =>
      (pod.spec?.containers ?? []).map((c) =>
        call(`reading the log of ${pod.metadata?.name}/${c.name}`, () =>
          kube.core.readNamespacedPodLog({
            name: pod.metadata?.name ?? '',
            namespace: svc.namespace,
            container: c.name,
            sinceSeconds,
            limitBytes: MAX_LOG_BYTES,
          }),
        ),
      ),
    ),
  );
  return logs.join('\n');
}

export interface ReceiptSettings {
  /** Asked for (--receipts, the catalogue's `receipts.require`): a missing receipt fails the run. */
  required: boolean;
  format: RegExp;
}

/** A companion may write its log line a moment after it answered: one more read, then the verdict. */
const LOG_SETTLE_MS = 2000;

/** Reads each companion's log once (twice if a receipt is missing) and judges every marked check. */
export async function collectReceipts(
  kube: Kube,
  plans: readonly MarkedPlan[],
  results: readonly CheckResult[],
  namespace: string,
  since: Date,
  settings: ReceiptSettings,
): Promise<{ receipts: Receipt[]; findings: AuditFinding[] }> {
  const companions = [...new Set(plans.map((p) => p.companion))];
  const seen = new Set<string>();
  const unread = new Map<string, string>();
  let receipts: Receipt[] = [];
  for (const attempt of [0, 1]) {
    if (attempt === 1) await new Promise((resolve) => setTimeout(resolve, LOG_SETTLE_MS));
    unread.clear();
    for (const companion of companions) {
      try {
        for (const m of markersSeen(await readCompanionLog(kube, companion, namespace, since), settings.format)) seen.add(m);
      } catch (err) {
        unread.set(companion, (err as Error).message);
      }
    }
    receipts = receiptsOf(plans, results, seen);
    if (!receipts.some((r) => r.status === 'unseen')) break;
  }
  return { receipts, findings: receiptFindings(receipts, unread, settings.required, namespace) };
}
