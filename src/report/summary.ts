/**
 * What a person at a terminal reads at the end of a run whose reports went to files: the
 * verdict, the counts, every check that did not pass with its reason, the findings that decided
 * the verdict, and where each report went. Never on a pipe: there the files are the output.
 */
import type { AuditFinding } from '../audit/finding.js';
import { printable } from '../base/terminal.js';
import { countsText, needsNoAttention, type Report } from './report.js';

export interface Destination {
  /** "tap", "json", "evidence bundle", "history". */
  what: string;
  where: string;
}

/** A run's findings that bound its verdict (AuditFinding.decides); an audit's verdict is its findings' severities. */
function decidingFindings(report: Report): AuditFinding[] {
  switch (report.command) {
    case 'run':
      return (report.findings ?? []).filter((f) => f.decides !== undefined);
    case 'probe':
    case 'audit':
      return [];
  }
}

export function renderHumanSummary(report: Report, destinations: readonly Destination[]): string {
  const lines = [`egress-verify ${report.command}: ${report.verdict.toUpperCase()} (${countsText(report.summary)})`];
  const deciding = decidingFindings(report);
  if (deciding.length > 0) {
    lines.push('decided by:');
    for (const f of deciding) lines.push(`  ${f.decides} ${f.ruleId} ${f.object.kind}/${f.object.name}: ${f.message}`);
  }
  const notPassed = report.results.filter((r) => !needsNoAttention(r));
  if (notPassed.length > 0) {
    lines.push('not passed:');
    for (const r of notPassed) {
      const where = [r.workload, r.pod].filter(Boolean).join(' @ ');
      lines.push(`  ${r.verdict} ${r.id}${where ? ` [${where}]` : ''}: ${r.reason}`);
    }
  }
  if (report.warnings !== undefined && report.warnings.length > 0) lines.push(`warnings: ${report.warnings.length} (in the reports)`);
  lines.push('reports:');
  for (const d of destinations) lines.push(`  ${d.what}: ${d.where}`);
  return `${lines.map((l) => printable(l)).join('\n')}\n`;
}
