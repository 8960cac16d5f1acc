/**
 * SARIF 2.1.0 for code-scanning dashboards: the audit's findings as results, the rule catalogue as
 * tool.driver.rules. Severity maps to SARIF's level (error / warning / note) and, for GitHub,
 * to `security-severity` on each rule.
 */
import { RULES } from '../audit/catalogue.js';
import type { AuditFinding, Report, Severity } from './report.js';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  info: 'note',
};

/** GitHub code scanning reads a CVSS-like score per rule. */
const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0', info: '0.0' };

export function renderSarif(report: Report): string {
  const findings = report.findings ?? [];
  const known = new Set<string>(RULES.map((r) => r.id));
  const rules = [
    ...RULES.map((r) => ({ id: r.id, title: r.title, fix: r.fix, severity: r.severity as Severity })),
    // A saved report may carry rules this version no longer has.
    ...[...new Map(findings.filter((f) => !known.has(f.ruleId)).map((f) => [f.ruleId, f])).values()].map((f) => ({
      id: f.ruleId,
      title: f.ruleId,
      fix: f.fix,
      severity: f.severity,
    })),
  ];
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: report.tool.name,
            version: report.tool.version,
            informationUri: 'https://egress-verify.dev/',
            rules: rules.map((r) => ({
              id: r.id,
              name: r.id,
              shortDescription: { text: r.title },
              help: { text: r.fix },
              defaultConfiguration: { level: LEVEL[r.severity] },
              properties: { 'security-severity': SECURITY_SEVERITY[r.severity], tags: ['security', 'kubernetes', 'egress'] },
            })),
          },
        },
        invocations: [{ executionSuccessful: true, startTimeUtc: report.startedAt, endTimeUtc: report.finishedAt }],
        results: findings.map((f) => result(f, index.get(f.ruleId) ?? 0)),
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

function result(f: AuditFinding, ruleIndex: number): Record<string, unknown> {
  const object = `${f.object.kind}/${f.object.namespace ? `${f.object.namespace}/` : ''}${f.object.name}`;
  return {
    ruleId: f.ruleId,
    ruleIndex,
    level: LEVEL[f.severity],
    message: { text: `${f.message}. Fix: ${f.fix}` },
    ...(f.location && {
      // The same object in several files: one result, a location per copy.
      locations: [f.location, ...(f.alsoAt ?? [])].map((l) => ({
        physicalLocation: {
          artifactLocation: { uri: toUri(l.file) },
          region: { startLine: l.line },
        },
        logicalLocations: [{ name: f.object.name, fullyQualifiedName: object, kind: 'object' }],
      })),
    }),
    properties: { severity: f.severity, object },
  };
}

/** Relative paths stay relative (SARIF resolves them against the checkout); stdin has no file. */
function toUri(file: string): string {
  if (file === '-') return 'stdin';
  const encoded = file
    .split(/[\\/]/)
    .map((part) => encodeURIComponent(part))
    .join('/');
  return file.startsWith('/') ? `file://${encoded}` : encoded;
}
