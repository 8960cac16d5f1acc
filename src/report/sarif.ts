/**
 * SARIF 2.1.0 for code-scanning dashboards: the audit's findings as results, the rule catalogue as
 * tool.driver.rules. Severity maps to SARIF's level (error / warning / note) and, for GitHub,
 * to `security-severity` on each rule. A `probe` or `run` report carries a result for every
 * check that did not pass too, so a dashboard fed by it never shows a failed run as clean.
 */
import type { CheckResult } from '../../probes/base/model.js';
import { RULES } from '../audit/catalogue.js';
import type { AuditFinding, Severity } from '../audit/finding.js';
import { LIVE_FILE_PREFIX } from '../audit/manifests.js';
import { needsNoAttention, type Report } from './report.js';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  info: 'note',
};

/** GitHub code scanning reads a CVSS-like score per rule. */
const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0', info: '0.0' };

const INFORMATION_URI = 'https://egress-verify.dev/';
/** Each rule has an anchor in the audit page's tables (`rule-ID`). */
const helpUri = (id: string): string => `${INFORMATION_URI}docs/audit.md#rule-${id}`;

interface SarifRule {
  id: string;
  title: string;
  fix: string;
  severity: Severity;
}

/** A check that did not pass, as a rule of its own: its verdict (docs/verdict.md). A skip is no result. */
export const CHECK_RULES: Record<Exclude<CheckResult['verdict'], 'pass' | 'skip'>, SarifRule> = {
  fail: {
    id: 'check-failed',
    title: 'A check failed: the workload reached what it must not (a bypass), or its allowed path is broken',
    fix: "Read the check's reason and detail: close the route the probe used (a NetworkPolicy, the companion), or repair the companion path.",
    severity: 'critical',
  },
  inconclusive: {
    id: 'check-inconclusive',
    title: 'A check proved nothing: the blocked route had no positive control that reached the same target the allowed way',
    fix: 'Make the control reachable through the companion (or fix the outside target) and run again; until then nothing is proven.',
    severity: 'high',
  },
  error: {
    id: 'check-error',
    title: 'A check could not run (the probe or its pod failed)',
    fix: "Read the check's detail and the probe pod's events, fix what stopped it and run again.",
    severity: 'high',
  },
};

/** "WideEgress" for "wide-egress": SARIF wants a name that is not the id. */
const pascal = (id: string): string => id.replace(/(^|-)([a-z0-9])/g, (_m, _dash, c: string) => c.toUpperCase());

/** A probe or a run reports every check that did not pass under these; an audit has no checks. */
function checkRules(report: Report): SarifRule[] {
  switch (report.command) {
    case 'audit':
      return [];
    case 'probe':
    case 'run':
      return Object.values(CHECK_RULES);
  }
}

export function renderSarif(report: Report): string {
  const findings = report.findings ?? [];
  const failed = report.results.filter((r) => !needsNoAttention(r));
  const known = new Set<string>(RULES.map((r) => r.id));
  const rules: SarifRule[] = [
    ...RULES.map((r) => ({ id: r.id, title: r.title, fix: r.fix, severity: r.severity as Severity })),
    // A saved report may carry rules this version no longer has.
    ...[...new Map(findings.filter((f) => !known.has(f.ruleId)).map((f) => [f.ruleId, f])).values()].map((f) => ({
      id: f.ruleId,
      title: f.ruleId,
      fix: f.fix,
      severity: f.severity,
    })),
    ...checkRules(report),
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
            informationUri: INFORMATION_URI,
            rules: rules.map((r) => ({
              id: r.id,
              name: pascal(r.id),
              shortDescription: { text: r.title },
              fullDescription: { text: `${r.title}. Fix: ${r.fix}` },
              help: { text: r.fix },
              helpUri: helpUri(r.id),
              defaultConfiguration: { level: LEVEL[r.severity] },
              properties: { 'security-severity': SECURITY_SEVERITY[r.severity], tags: ['security', 'kubernetes', 'egress'] },
            })),
          },
        },
        invocations: [{ executionSuccessful: true, startTimeUtc: report.startedAt, endTimeUtc: report.finishedAt }],
        results: [...findings.map((f) => findingResult(f, index.get(f.ruleId) ?? 0)), ...failed.map((r) => checkResult(r, report, index))],
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

function findingResult(f: AuditFinding, ruleIndex: number): Record<string, unknown> {
  const object = `${f.object.kind}/${f.object.namespace ? `${f.object.namespace}/` : ''}${f.object.name}`;
  const logical = [{ name: f.object.name, fullyQualifiedName: object, kind: 'object' }];
  // A live object has no file: it is named, not given an invented URI.
  const files = [...(f.location ? [f.location] : []), ...(f.alsoAt ?? [])].filter((l) => !l.file.startsWith(LIVE_FILE_PREFIX));
  return {
    ruleId: f.ruleId,
    ruleIndex,
    level: LEVEL[f.severity],
    message: { text: `${f.message}. Fix: ${f.fix}` },
    // The same object in several files: one result, a location per copy.
    locations:
      files.length > 0
        ? files.map((l) => ({
            physicalLocation: { artifactLocation: { uri: toUri(l.file) }, region: { startLine: l.line } },
            logicalLocations: logical,
          }))
        : [{ logicalLocations: logical }],
    properties: { severity: f.severity, object },
  };
}

/** A check that did not pass: where it ran (namespace, workload, pod) as logical locations. */
function checkResult(r: CheckResult, report: Report, index: ReadonlyMap<string, number>): Record<string, unknown> {
  const rule = CHECK_RULES[r.verdict as keyof typeof CHECK_RULES];
  const namespace = report.subject?.namespace;
  const workload = r.workload ?? report.subject?.workload;
  const where = [
    ...(namespace ? [{ name: namespace, kind: 'namespace' }] : []),
    ...(workload ? [{ name: workload, fullyQualifiedName: namespace ? `${namespace}/${workload}` : workload, kind: 'object' }] : []),
    ...(r.pod ? [{ name: r.pod, fullyQualifiedName: namespace ? `${namespace}/pod/${r.pod}` : `pod/${r.pod}`, kind: 'resource' }] : []),
    { name: r.id, fullyQualifiedName: `${workload ?? report.command}/${r.id}`, kind: 'member' },
  ];
  return {
    ruleId: rule.id,
    ruleIndex: index.get(rule.id) ?? 0,
    level: LEVEL[rule.severity],
    message: { text: `${r.id} (${r.target}): ${r.reason}` },
    locations: [{ logicalLocations: where }],
    properties: { verdict: r.verdict, target: r.target, ...(r.node && { node: r.node }) },
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
