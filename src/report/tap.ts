import { dump } from 'js-yaml';
import type { CheckResult } from '../../probes/model.js';
import type { Report } from './report.js';

/**
 * TAP 14: one test point per check with a YAML diagnostic block. Only a pass is "ok": an
 * inconclusive check has proven nothing, so a TAP consumer must not count it as passed.
 */
export function renderTap(report: Report): string {
  const warnings = (report.warnings ?? []).map((w) => `# warning: ${w.replace(/\n/g, ' ')}`);
  const lines = ['TAP version 14', ...warnings, `1..${report.results.length}`];
  report.results.forEach((r, i) => {
    const status = r.verdict === 'pass' ? 'ok' : 'not ok';
    // Several probe pods report the same check ids: the pod tells them apart.
    lines.push(`${status} ${i + 1} - ${escapeDescription(r.pod ? `${r.id} [${r.pod}]` : r.id)}`);
    lines.push('  ---');
    for (const line of dump(diagnostic(r), { lineWidth: -1, noRefs: true }).trimEnd().split('\n')) lines.push(`  ${line}`);
    lines.push('  ...');
  });
  const s = report.summary;
  lines.push(`# verdict: ${report.verdict} (pass ${s.pass}, fail ${s.fail}, inconclusive ${s.inconclusive}, error ${s.error})`);
  return `${lines.join('\n')}\n`;
}

/** TAP reserves "#" for directives and a leading digit would read as a test number. */
function escapeDescription(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/#/g, '\\#');
}

function diagnostic(r: CheckResult): Record<string, unknown> {
  return {
    verdict: r.verdict,
    expect: r.expect,
    target: r.target,
    observed: r.observation.outcome,
    reason: r.reason,
    detail: r.observation.detail,
    duration_ms: r.observation.durationMs,
    ...(r.control && { control: r.control }),
    ...(r.finding && { finding: r.finding.code }),
    ...(r.observation.error && { error: r.observation.error }),
    ...(r.pod && { pod: r.pod }),
    ...(r.node && { node: r.node }),
  };
}
