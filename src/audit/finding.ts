/**
 * What an audit finds: a rule's hit on one object, its severity, and the verdict findings give.
 * The report writers render these; the audit knows nothing of reports.
 */
import type { Verdict } from '../../probes/base/model.js';

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);

/** Info and low findings are advice: they never fail an audit. */
export const AUDIT_FAIL_ON = ['medium', 'high', 'critical'] as const satisfies readonly Severity[];

/** One rule's hit on one manifest object. */
export interface AuditFinding {
  ruleId: string;
  severity: Severity;
  message: string;
  fix: string;
  object: { kind: string; namespace?: string; name: string };
  /** File (or "-" for stdin) and 1-based line of the object's first line. */
  location?: { file: string; line: number };
  /** The same object written again elsewhere, with the same finding: reported once, every copy named. */
  alsoAt?: { file: string; line: number }[];
  /**
   * `run` only: the probe could not be the workload's twin, so this finding bounds the verdict
   * (a workload NetworkPolicy cannot restrict fails; an inexact twin is never a pass).
   */
  decides?: 'fail' | 'inconclusive';
}

/** Every place a finding's object is written, "file:line", the first one first. */
export const findingLocations = (f: AuditFinding): string[] =>
  [...(f.location ? [f.location] : []), ...(f.alsoAt ?? [])].map((l) => `${l.file}:${l.line}`);

/** Each rule's findings, every rule present, in `ruleIds` order; appended in place (a copy per finding is quadratic). */
export function findingsByRule(ruleIds: readonly string[], findings: readonly AuditFinding[]): Map<string, AuditFinding[]> {
  const byRule = new Map<string, AuditFinding[]>(ruleIds.map((id) => [id, []]));
  for (const f of findings) {
    const hits = byRule.get(f.ruleId);
    if (hits === undefined) byRule.set(f.ruleId, [f]);
    else hits.push(f);
  }
  return byRule;
}

export const isBlocking = (f: AuditFinding, failOn: Severity): boolean => severityRank(f.severity) >= severityRank(failOn);

/**
 * An audit has no probe results: its verdict comes from findings. Info and low findings can
 * never fail it, whatever --fail-on says.
 */
export function auditVerdict(findings: readonly AuditFinding[], failOn: Severity): Verdict {
  const threshold = severityRank(failOn) < severityRank('medium') ? 'medium' : failOn;
  return findings.some((f) => isBlocking(f, threshold)) ? 'fail' : 'pass';
}

/** An audit that judged no object proves nothing: inconclusive, never a pass. */
export function auditReportVerdict(findings: readonly AuditFinding[], failOn: Severity, objectsRead: number | undefined): Verdict {
  return objectsRead === 0 ? 'inconclusive' : auditVerdict(findings, failOn);
}
