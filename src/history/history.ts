/**
 * A scheduled run's outcome, where `kubectl` users look (pure builders): an entry in the history
 * ConfigMap, an Event per workload, and a wgpolicyk8s.io PolicyReport.
 */
import { createHash } from 'node:crypto';
import type { Verdict } from '../../probes/base/model.js';
import type { WorkloadTarget } from '../controller/target.js';
import { type KeyedVerdict, keyedVerdicts, type RunVerdicts, runVerdicts } from '../report/diff.js';
import { overallVerdict, type ReportDiff, type RunReport, type Summary, summarize } from '../report/report.js';

export const HISTORY_LABEL = 'egress-verify.dev/history';
export const DEFAULT_HISTORY_LENGTH = 10;

/** One run as the history ConfigMap keeps it: verdicts by check key, nothing the report repeats. */
export interface HistoryEntry {
  runId?: string;
  startedAt: string;
  finishedAt: string;
  verdict: Verdict;
  summary: Summary;
  verdicts: Record<string, Verdict>;
  /** The evidence bundle's chain digest and signer, when the run wrote one. */
  evidence?: { chain: string; signedBy?: string };
}

/** A ConfigMap holds at most 1 MiB; the rest is room for latest.md and latest.json. */
export const HISTORY_BUDGET = 768 * 1024;

/**
 * One history per set of workloads, so two CronJobs auditing different workloads of one namespace
 * keep separate histories: `egress-verify-deployment-data-processor`, or a digest for a selector
 * or several workloads.
 */
export function historyName(targets: readonly Pick<WorkloadTarget, 'description' | 'ref'>[]): string {
  const only = targets.length === 1 ? targets[0] : undefined;
  if (only?.ref) {
    const name = `egress-verify-${only.ref.kind.toLowerCase()}-${only.ref.name}`;
    if (name.length <= 253) return name;
  }
  const digest = createHash('sha256')
    .update(
      targets
        .map((t) => t.description)
        .sort()
        .join('\n'),
    )
    .digest('hex')
    .slice(0, 12);
  return `egress-verify-${digest}`;
}

export function historyEntry(report: RunReport, evidence?: HistoryEntry['evidence']): HistoryEntry {
  const { checks, ...run } = runVerdicts(report);
  return {
    ...run,
    finishedAt: report.finishedAt,
    summary: report.summary,
    verdicts: Object.fromEntries(checks.map((c) => [c.key, c.verdict])),
    ...(evidence && { evidence }),
  };
}

/** The entry in the shape diffRuns compares; the key stands in for id and target it did not keep. */
export function entryVerdicts(entry: HistoryEntry): RunVerdicts {
  return {
    ...(entry.runId && { runId: entry.runId }),
    startedAt: entry.startedAt,
    verdict: entry.verdict,
    checks: Object.entries(entry.verdicts).map(([key, verdict]) => ({ key, id: key, target: key, verdict })),
  };
}

/** Newest last; at most `limit` entries, and the oldest go first when the budget is exceeded. */
export function appendHistory(entries: readonly HistoryEntry[], entry: HistoryEntry, limit: number): HistoryEntry[] {
  const kept = [...entries, entry].slice(-limit);
  while (kept.length > 1 && JSON.stringify(kept).length > HISTORY_BUDGET) kept.shift();
  return kept;
}

/** Tolerant of a hand-edited ConfigMap: anything unreadable starts a fresh history. */
export function parseHistory(text: string | undefined): HistoryEntry[] {
  if (text === undefined) return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (e): e is HistoryEntry =>
        typeof e === 'object' &&
        e !== null &&
        typeof e.startedAt === 'string' &&
        typeof e.verdict === 'string' &&
        typeof e.verdicts === 'object' &&
        e.verdicts !== null,
    );
  } catch {
    return [];
  }
}

const REASONS: Record<Verdict, string> = {
  pass: 'EgressVerified',
  fail: 'EgressBypass',
  inconclusive: 'EgressInconclusive',
  error: 'EgressProbeError',
  skip: 'EgressNotProbed',
};

/** events.k8s.io/v1 caps a note at 1 KiB. */
export const NOTE_LIMIT = 1024;

function listKeys(title: string, checks: readonly { key: string }[]): string {
  return checks.length === 0 ? '' : ` ${title}: ${checks.map((c) => c.key).join(', ')}.`;
}

export function eventNote(report: RunReport, checks: readonly KeyedVerdict[], changes?: ReportDiff, chain?: string): string {
  const s = report.summary;
  let note = `run ${report.subject?.runId ?? ''}: ${report.verdict.toUpperCase()}, ${s.pass}/${s.total} passed.`;
  note += listKeys(
    'Bypasses',
    checks.filter((c) => c.verdict === 'fail'),
  );
  note += listKeys(
    'Inconclusive',
    checks.filter((c) => c.verdict === 'inconclusive' || c.verdict === 'error'),
  );
  if (changes) {
    note += listKeys('New since last run', changes.newBypasses);
    note += listKeys('Fixed', changes.fixed);
  }
  if (chain) note += ` Evidence chain ${chain}.`;
  return note.length <= NOTE_LIMIT ? note : `${note.slice(0, NOTE_LIMIT - 3)}...`;
}

/** RFC 3339 with microseconds: the MicroTime the Events API insists on. */
export const microTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export interface EventBody {
  apiVersion: 'events.k8s.io/v1';
  kind: 'Event';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  eventTime: string;
  type: 'Normal' | 'Warning';
  reason: string;
  action: string;
  note: string;
  reportingController: string;
  reportingInstance: string;
  regarding: { apiVersion: string; kind: string; name: string; namespace: string; uid: string };
}

/** Normal on pass; Warning on anything else, naming the checks that failed or proved nothing. */
export function workloadEvent(
  target: WorkloadTarget & { ref: NonNullable<WorkloadTarget['ref']> },
  report: RunReport,
  changes: ReportDiff | undefined,
  chain: string | undefined,
  instance: string,
  now: Date,
): EventBody {
  // Several workloads in one run: each Event speaks for its own workload's checks.
  const own = (x: { workload?: string }): boolean => x.workload === undefined || x.workload === target.description;
  const mine = report.results.filter(own);
  const verdict = overallVerdict(mine);
  const checks = keyedVerdicts(mine);
  const scoped = changes && { ...changes, newBypasses: changes.newBypasses.filter(own), fixed: changes.fixed.filter(own) };
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: {
      name: `${target.ref.name}.egress-verify.${report.subject?.runId ?? now.getTime().toString(36)}`.slice(0, 253),
      namespace: target.namespace,
      labels: { 'app.kubernetes.io/name': 'egress-verify' },
    },
    eventTime: microTime(now),
    type: verdict === 'pass' ? 'Normal' : 'Warning',
    reason: REASONS[verdict],
    action: 'VerifyEgress',
    note: eventNote({ ...report, verdict, summary: summarize(mine) }, checks, scoped, chain),
    reportingController: 'egress-verify.dev/controller',
    reportingInstance: instance.slice(0, 128),
    regarding: { ...target.ref, namespace: target.namespace },
  };
}

type PolicyResult = 'pass' | 'fail' | 'warn' | 'error' | 'skip';
/** Inconclusive is not a pass: PolicyReport's "warn" is the nearest it has. */
const POLICY_RESULT: Record<Verdict, PolicyResult> = { pass: 'pass', fail: 'fail', inconclusive: 'warn', error: 'error', skip: 'skip' };

/** A wgpolicyk8s.io/v1alpha2 PolicyReport, one result per check, as Kyverno and netchecks write them. */
export function policyReport(name: string, targets: readonly WorkloadTarget[], report: RunReport, now: Date): Record<string, unknown> {
  const refOf = (workload: string | undefined) => {
    const t = targets.find((x) => x.description === workload) ?? (targets.length === 1 ? targets[0] : undefined);
    return t?.ref ? [{ ...t.ref, namespace: t.namespace }] : [];
  };
  const summary: Record<PolicyResult, number> = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  const results = report.results.map((r) => {
    const result = POLICY_RESULT[r.verdict];
    summary[result]++;
    return {
      source: 'egress-verify',
      policy: 'egress-only-through-companion',
      rule: r.id,
      category: 'Network egress',
      severity: r.verdict === 'fail' ? 'high' : 'info',
      result,
      scored: true,
      message: r.reason,
      timestamp: { seconds: Math.floor(now.getTime() / 1000), nanos: 0 },
      resources: refOf(r.workload),
      properties: {
        target: r.target,
        expect: r.expect,
        observed: r.observation.outcome,
        ...(r.pod && { pod: r.pod }),
        ...(r.node && { node: r.node }),
      },
    };
  });
  const scope = targets.length === 1 && targets[0]?.ref ? { scope: { ...targets[0].ref, namespace: targets[0].namespace } } : {};
  return {
    apiVersion: 'wgpolicyk8s.io/v1alpha2',
    kind: 'PolicyReport',
    metadata: { name, namespace: targets[0]?.namespace ?? '', labels: { 'app.kubernetes.io/name': 'egress-verify' } },
    ...scope,
    summary,
    results,
  };
}
