/**
 * The one report shape every subcommand writes (schema: reports/report.schema.json). TAP, JUnit
 * and the probe's JSON lines are renderings of it.
 */
import type { CheckResult, Verdict } from '../../probes/base/model.js';
import type { Receipt } from '../../probes/base/receipt.js';
import type { ExceptionRow } from '../../probes/exceptions.js';
import { type AuditFinding, auditReportVerdict, auditVerdict, type Severity } from '../audit/finding.js';
import { ExitCode } from '../base/errors.js';
import { toolVersion } from '../base/package-root.js';

/** One check whose verdict moved between two runs (diff.ts finds them). */
export interface Change {
  key: string;
  id: string;
  target: string;
  workload?: string;
  node?: string;
  from?: Verdict;
  to?: Verdict;
}

export interface ReportDiff {
  from: { runId?: string; startedAt: string; verdict: Verdict };
  to: { runId?: string; startedAt: string; verdict: Verdict };
  /** Fail now; anything else, or absent, before. */
  newBypasses: Change[];
  /** Fail before, pass now. */
  fixed: Change[];
  /** Pass or fail before, inconclusive or error now: the run lost its proof. */
  becameInconclusive: Change[];
  /** Everything else that moved: checks added or removed, inconclusive to pass. */
  other: Change[];
}

export type Command = Report['command'];

export interface Summary {
  total: number;
  pass: number;
  fail: number;
  inconclusive: number;
  error: number;
  /** Checks not dialled (an IPv6 target, no IPv6 address in the pod); absent when none. */
  skip?: number;
}

interface ReportCommon {
  schemaVersion: 1;
  tool: { name: 'egress-verify'; version: string };
  startedAt: string;
  finishedAt: string;
  verdict: Verdict;
  summary: Summary;
  results: CheckResult[];
  warnings?: string[];
  /** What changed since an earlier run (`run --record`, `report diff -o`). */
  changes?: ReportDiff;
}

/** `probe`: the checks one probe ran. */
export interface ProbeReport extends ReportCommon {
  command: 'probe';
  subject?: never;
  findings?: never;
  receipts?: never;
  exceptions?: never;
  failOn?: never;
  objectsRead?: never;
}

/** `run`: every probe pod's checks, what was tested, and the live audit of its namespace. */
export interface RunReport extends ReportCommon {
  command: 'run';
  subject?: Subject;
  /** The live audit's findings: they explain the verdict; those that `decides` bound it. */
  findings?: AuditFinding[];
  /** `run`: each marked proxied request, and whether the companion's log shows it (inspection receipts). */
  receipts?: Receipt[];
  /** `run`: the catalogue's sanctioned exceptions for the workloads run, active or expired, with the checks each turned. */
  exceptions?: ExceptionRow[];
  failOn?: never;
  objectsRead?: never;
}

/** `audit`: no probe results; the verdict comes from what the rules found. */
export interface AuditReport extends ReportCommon {
  command: 'audit';
  subject?: never;
  receipts?: never;
  exceptions?: never;
  findings: AuditFinding[];
  /** The lowest severity that fails the run. */
  failOn: Severity;
  /** How many objects the rules judged; none makes the audit inconclusive (absent in older reports). */
  objectsRead?: number;
}

/** One type per command, keyed on `command`: a writer switches on it and the compiler checks every case. */
export type Report = ProbeReport | RunReport | AuditReport;

/** A report as the schema admits it: an audit written before failOn and findings were always set. */
export type StoredReport = ProbeReport | RunReport | (Omit<AuditReport, 'failOn' | 'findings'> & Partial<AuditReport>);

/** The one place a stored report's defaults are applied: --fail-on's default, no findings. */
export function completeReport(stored: StoredReport): Report {
  switch (stored.command) {
    case 'probe':
    case 'run':
      return stored;
    case 'audit':
      return { ...stored, findings: stored.findings ?? [], failOn: stored.failOn ?? 'high' };
  }
}

/** What a `run` tested, as observed through the API. */
export interface Subject {
  cluster?: string;
  namespace?: string;
  workload?: string;
  runId?: string;
  companion?: string;
  image?: string;
  /** The probe image as the kubelet resolved it: a digest, where the runtime reports one. */
  imageId?: string;
  /** `standsFor`: the workloads of a twin class this one probe pod was run for. */
  pods?: { name: string; node?: string; outcome?: string; standsFor?: string[] }[];
  /** The egress policies of every kind read (the namespace's and cluster-scoped) as they were during the run. */
  networkPolicies?: PolicySnapshot[];
  /** Per workload: what the probe copied from it, and every difference with its reason. */
  twins?: TwinReport[];
}

export interface TwinReport {
  workload: string;
  copied: string[];
  differences: { field: string; workload: string; probe: string; reason: string; decidesEgress: boolean }[];
}

export interface PolicySnapshot {
  /** NetworkPolicy, AdminNetworkPolicy, NetworkPolicy.projectcalico.org/v3, ... (absent in reports before kinds were read). */
  kind?: string;
  name: string;
  /** A cluster-scoped kind: it applies across namespaces. */
  clusterScoped?: boolean;
  resourceVersion?: string;
  spec: Record<string, unknown>;
}

/** A check that asks nothing of the reader: it passed, or it could not be sent at all (never a pass). */
export const needsNoAttention = (r: { verdict: Verdict }): boolean => r.verdict === 'pass' || r.verdict === 'skip';

/**
 * Any fail beats an error, an error beats inconclusive. Nothing proven is not a pass: all checks
 * skipped, or a workload without one path that must be blocked proven blocked.
 */
export function overallVerdict(results: readonly CheckResult[]): Verdict {
  if (results.every((r) => r.verdict === 'skip')) return 'inconclusive';
  for (const v of ['fail', 'error', 'inconclusive'] as const) {
    if (results.some((r) => r.verdict === v)) return v;
  }
  return noBlockProven(results).length > 0 ? 'inconclusive' : 'pass';
}

/**
 * The workloads (in a probe's report, the one probe: "") whose results prove no path that must
 * be blocked blocked. Their passes show the allowed path works, not that any other path is shut:
 * a catalogue with no outside target, or outside targets all skipped.
 */
export function noBlockProven(results: readonly CheckResult[]): string[] {
  const proven = new Map<string, boolean>();
  for (const r of results) {
    const workload = r.workload ?? '';
    proven.set(workload, proven.get(workload) === true || (r.expect === 'blocked' && r.verdict === 'pass'));
  }
  return [...proven].filter(([, p]) => !p).map(([workload]) => workload);
}

/** Why a report of passes is inconclusive, when no path that must be blocked was proven blocked. */
export function noBlockProvenWarnings(results: readonly CheckResult[]): string[] {
  if (results.some((r) => r.verdict !== 'pass' && r.verdict !== 'skip')) return [];
  return noBlockProven(results).map(
    (workload) =>
      `${workload || 'the probe'}: no check of a path that must be blocked passed, so nothing shows its egress is restricted (inconclusive)`,
  );
}

const VERDICT_RANK: readonly Verdict[] = ['pass', 'inconclusive', 'error', 'fail'];

/** A run's verdict: its results', made worse by any finding that decides it (see AuditFinding.decides). */
export function runVerdict(results: readonly CheckResult[], findings: readonly AuditFinding[]): Verdict {
  const decided = findings.flatMap((f) => (f.decides ? [f.decides] : []));
  return [overallVerdict(results), ...decided].reduce((a, b) => (VERDICT_RANK.indexOf(b) > VERDICT_RANK.indexOf(a) ? b : a));
}

/** The verdict a report's rows give; a stored verdict that differs was edited or is corrupt. */
export function verdictFromRows(report: Report): Verdict {
  switch (report.command) {
    case 'audit':
      return auditReportVerdict(report.findings, report.failOn, report.objectsRead);
    case 'run':
      return runVerdict(report.results, report.findings ?? []);
    case 'probe':
      return overallVerdict(report.results);
  }
}

/** "8 pass, 2 fail, 0 inconclusive, 0 error": the counts as the summaries people read say them. */
export const countsText = (s: Summary): string =>
  `${s.pass} pass, ${s.fail} fail, ${s.inconclusive} inconclusive, ${s.error} error${s.skip ? `, ${s.skip} skip` : ''}`;

export function summarize(results: readonly CheckResult[]): Summary {
  const summary: Required<Summary> = { total: results.length, pass: 0, fail: 0, inconclusive: 0, error: 0, skip: 0 };
  for (const r of results) summary[r.verdict]++;
  const { skip, ...rest } = summary;
  return skip > 0 ? summary : rest;
}

/**
 * The audit's report. Its summary counts rules, not findings: a rule passes when it found nothing
 * at or above the fail-on severity. With no object to judge, no rule ran.
 */
export function buildAuditReport(
  ruleIds: readonly string[],
  findings: AuditFinding[],
  failOn: Severity,
  warnings: string[],
  startedAt: Date,
  finishedAt: Date,
  objectsRead: number,
): AuditReport {
  const verdict = auditReportVerdict(findings, failOn, objectsRead);
  const failedRules = new Set(findings.filter((f) => auditVerdict([f], failOn) === 'fail').map((f) => f.ruleId));
  const fail = ruleIds.filter((id) => failedRules.has(id)).length;
  const rules = objectsRead === 0 ? 0 : ruleIds.length;
  return {
    schemaVersion: 1,
    tool: { name: 'egress-verify', version: toolVersion },
    command: 'audit',
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    verdict,
    summary: { total: rules, pass: rules - fail, fail, inconclusive: 0, error: 0 },
    results: [],
    ...(warnings.length > 0 && { warnings }),
    findings,
    failOn,
    objectsRead,
  };
}

export function buildReport(command: 'probe', results: CheckResult[], startedAt: Date, finishedAt: Date): ProbeReport;
export function buildReport(command: 'run', results: CheckResult[], startedAt: Date, finishedAt: Date): RunReport;
export function buildReport(command: 'probe' | 'run', results: CheckResult[], startedAt: Date, finishedAt: Date): ProbeReport | RunReport {
  const warnings = noBlockProvenWarnings(results);
  return {
    schemaVersion: 1,
    tool: { name: 'egress-verify', version: toolVersion },
    command,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    verdict: overallVerdict(results),
    summary: summarize(results),
    results,
    ...(warnings.length > 0 && { warnings }),
  };
}

/** A report's verdict as the process's exit code: any fail beats error, error beats inconclusive. */
export function exitCodeFor(verdict: Verdict): ExitCode {
  switch (verdict) {
    case 'pass':
      return ExitCode.pass;
    case 'fail':
      return ExitCode.fail;
    case 'inconclusive':
    case 'skip':
      return ExitCode.inconclusive;
    case 'error':
      return ExitCode.infrastructure;
  }
}
