/**
 * What a run says about the catalogue's sanctioned exceptions (probes/exceptions.ts): an expired
 * one is a finding (its destination is probed as blocked again, so a path still open fails the
 * run on its own), and one that matches no check proves nothing and is a warning.
 */
import type { ExceptionRow } from '../../probes/exceptions.js';
import type { AuditFinding } from '../audit/finding.js';

export const EXCEPTION_EXPIRED = {
  id: 'exception-expired',
  fix: 'Close the direct path (its NetworkPolicy) or renew the exception with a new `expires` and the reason it still holds.',
} as const;

export function exceptionFindings(rows: readonly ExceptionRow[], namespace: string): AuditFinding[] {
  return rows
    .filter((r) => r.status === 'expired')
    .map((r) => {
      const [kind = 'Workload', name = r.workload] = r.workload.split('/');
      return {
        ruleId: EXCEPTION_EXPIRED.id,
        severity: 'medium',
        message: `the exception for ${r.workload} to ${r.url} expired on ${r.expires} ("${r.reason}"): its direct checks expect blocked again`,
        fix: EXCEPTION_EXPIRED.fix,
        object: { kind: kind.charAt(0).toUpperCase() + kind.slice(1), namespace, name },
      };
    });
}

export const exceptionWarnings = (rows: readonly ExceptionRow[]): string[] =>
  rows
    .filter((r) => r.checks.length === 0)
    .map((r) => `the exception for ${r.workload} to ${r.url} matches no direct check of the catalogue: it sanctions nothing`);
