/**
 * `egress-verify audit`: the offline audit of manifests. Reads files, directories or stdin, runs
 * every rule, and exits 1 when a finding is at or above --fail-on.
 */
import { auditObjects } from '../audit/audit.js';
import { RULE_IDS } from '../audit/catalogue.js';
import { readManifests } from '../audit/manifests.js';
import { exitCodeFor, UsageError } from '../errors.js';
import { log } from '../log.js';
import { parseOutputs, writeOutputs } from '../output.js';
import { buildAuditReport, type Severity } from '../report/report.js';

export interface AuditOptions {
  file: string[];
  failOn: string;
  output: string[];
}

/** Info and low findings are advice: they never fail an audit. */
export const AUDIT_FAIL_ON = ['medium', 'high', 'critical'] as const satisfies readonly Severity[];

export function auditCommand(opts: AuditOptions): number {
  if (opts.file.length === 0) throw new UsageError('no manifests: give -f FILE, -f DIR or -f - (stdin)');
  if (opts.file.filter((f) => f === '-').length > 1) throw new UsageError('stdin (-f -) can be read only once');
  const failOn = opts.failOn as Severity;
  if (!(AUDIT_FAIL_ON as readonly string[]).includes(failOn))
    throw new UsageError(`--fail-on must be one of ${AUDIT_FAIL_ON.join(', ')} (info and low findings never fail)`);
  const outputs = parseOutputs(opts.output.length > 0 ? opts.output : ['tap']);
  const startedAt = new Date();
  const manifests = readManifests(opts.file);
  for (const warning of manifests.warnings) log.warn({ warning }, 'manifest skipped');
  const findings = auditObjects(manifests.objects);
  const report = buildAuditReport(RULE_IDS, findings, failOn, manifests.warnings, startedAt, new Date());
  writeOutputs(outputs, report);
  return exitCodeFor(report.verdict);
}
