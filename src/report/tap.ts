import type { CheckResult } from '../../probes/base/model.js';
import { RULE_IDS } from '../audit/catalogue.js';
import { auditVerdict, findingLocations, findingsByRule } from '../audit/finding.js';
import type { AuditReport, ProbeReport, Report, RunReport } from './report.js';
import { yamlish } from './yamlish.js';

/** 14 by default; 13 for harnesses that predate it (Debian 12's `prove` fails a stream that says 14). */
export const TAP_VERSIONS = ['13', '14'] as const;
export type TapVersion = (typeof TAP_VERSIONS)[number];

/**
 * TAP: one test point per check with a YAML diagnostic block. Only a pass is "ok": an
 * inconclusive check has proven nothing, so a TAP consumer must not count it as passed. Nothing
 * here differs between 13 and 14 but the version line.
 */
export function renderTap(report: Report, version: TapVersion = '14'): string {
  const header = `TAP version ${version}`;
  switch (report.command) {
    case 'audit':
      return renderAuditTap(report, header);
    case 'probe':
    case 'run':
      return renderChecksTap(report, header);
  }
}

/** A probe or a run: a test point per check, and one per finding that decides the verdict. */
function renderChecksTap(report: ProbeReport | RunReport, header: string): string {
  const warnings = (report.warnings ?? []).map((w) => `# warning: ${w.replace(/\n/g, ' ')}`);
  // A run carries the live audit's findings: they explain a verdict, they are not test points.
  // A finding that decides the verdict (the probe could not be the twin) is one, never "ok":
  // a run that probed nothing must not read "1..0", which TAP consumers count as passed.
  const deciding = (report.findings ?? []).filter((f) => f.decides !== undefined);
  const findings = (report.findings ?? [])
    .filter((f) => f.decides === undefined)
    .map((f) => `# finding: ${f.severity} ${f.ruleId} ${f.object.kind}/${f.object.name}: ${f.message.replace(/\n/g, ' ')}`);
  const twins = (report.subject?.twins ?? []).flatMap((tw) => [
    `# twin: ${tw.workload}: copied ${tw.copied.join(', ')}`,
    ...tw.differences.map(
      (d) =>
        `# twin: ${tw.workload}: ${d.field} differs (${d.decidesEgress ? 'could decide egress' : 'does not decide egress'}): ${d.reason}`,
    ),
  ]);
  const lines = [header, ...warnings, ...twins, ...findings, `1..${report.results.length + deciding.length}`];
  deciding.forEach((f, i) => {
    lines.push(`not ok ${i + 1} - ${escapeDescription(`${f.ruleId} ${f.object.kind}/${f.object.name}`)}`);
    lines.push(...diagnosticBlock({ verdict: f.decides, severity: f.severity, reason: f.message, fix: f.fix }));
  });
  // A run over several workloads reads as a section per workload.
  const sections = new Set(report.results.map((r) => r.workload)).size > 1;
  report.results.forEach((r, i) => {
    if (sections && r.workload !== report.results[i - 1]?.workload) lines.push(`# workload: ${r.workload ?? '(none)'}`);
    const status = r.verdict === 'pass' || r.verdict === 'skip' ? 'ok' : 'not ok';
    // TAP's own SKIP directive: a harness counts it as skipped, not as a passed test.
    const directive = r.verdict === 'skip' ? ` # SKIP ${escapeDescription(r.reason)}` : '';
    // Several probe pods report the same check ids: the pod tells them apart.
    lines.push(`${status} ${deciding.length + i + 1} - ${escapeDescription(r.pod ? `${r.id} [${r.pod}]` : r.id)}${directive}`);
    lines.push(...diagnosticBlock(diagnostic(r)));
  });
  const s = report.summary;
  lines.push(
    `# verdict: ${report.verdict} (pass ${s.pass}, fail ${s.fail}, inconclusive ${s.inconclusive}, error ${s.error}${s.skip ? `, skip ${s.skip}` : ''})`,
  );
  return `${lines.join('\n')}\n`;
}

const diagnosticBlock = (data: Record<string, unknown>): string[] => ['  ---', ...yamlish(data, '  '), '  ...'];

/** TAP reserves "#" for directives and a leading digit would read as a test number. */
function escapeDescription(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/#/g, '\\#');
}

/** The YAML block of a check's test point. */
export function diagnostic(r: CheckResult): Record<string, unknown> {
  return {
    verdict: r.verdict,
    expect: r.expect,
    target: r.target,
    observed: r.observation.outcome,
    reason: r.reason,
    detail: r.observation.detail,
    duration_ms: r.observation.durationMs,
    ...(r.control && { control: r.control }),
    ...(r.controlSource && { control_source: r.controlSource }),
    ...(r.finding && { finding: r.finding.code }),
    ...(r.observation.error && { error: r.observation.error }),
    ...(r.pod && { pod: r.pod }),
    ...(r.node && { node: r.node }),
  };
}

/**
 * An audit in TAP: one test point per rule, so a clean run still lists what was checked. A rule
 * is "not ok" when it found something at or above the fail-on severity; its diagnostic lists
 * every finding (below the threshold too) with file:line and the fix.
 */
function renderAuditTap(report: AuditReport, header: string): string {
  const { failOn, findings } = report;
  const warnings = (report.warnings ?? []).map((w) => `# warning: ${w.replace(/\n/g, ' ')}`);
  // Rules run on nothing prove nothing: one failing point, not a column of oks.
  if (report.objectsRead === 0)
    return `${[header, ...warnings, '1..1', 'not ok 1 - nothing to audit', `# verdict: ${report.verdict}`].join('\n')}\n`;
  const byRule = findingsByRule(RULE_IDS, findings);
  const lines = [header, ...warnings, `1..${byRule.size}`];
  let n = 0;
  for (const [ruleId, hits] of byRule) {
    n++;
    const status = auditVerdict(hits, failOn) === 'fail' ? 'not ok' : 'ok';
    lines.push(
      `${status} ${n} - ${escapeDescription(ruleId)}${hits.length > 0 ? ` (${hits.length} finding${hits.length === 1 ? '' : 's'})` : ''}`,
    );
    if (hits.length === 0) continue;
    const diagnostic = {
      severity: hits[0]?.severity,
      fix: hits[0]?.fix,
      findings: hits.map((f) => ({
        at: findingLocations(f)[0] ?? '(no location)',
        ...(f.alsoAt && { also_at: findingLocations(f).slice(1) }),
        object: `${f.object.kind}/${f.object.namespace ? `${f.object.namespace}/` : ''}${f.object.name}`,
        message: f.message,
      })),
    };
    // One rule's block can be longer than the call stack takes as spread arguments.
    for (const line of diagnosticBlock(diagnostic)) lines.push(line);
  }
  const s = report.summary;
  lines.push(`# verdict: ${report.verdict} (${findings.length} findings; rules: pass ${s.pass}, fail ${s.fail}; fail-on ${failOn})`);
  return `${lines.join('\n')}\n`;
}
