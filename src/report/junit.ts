import { RULES } from '../audit/catalogue.js';
import { type AuditFinding, auditVerdict, type Report } from './report.js';

const escapeXml = (s: string): string =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);

/**
 * JUnit XML for CI dashboards. Inconclusive checks are failures of type "inconclusive", never
 * <skipped/>: dashboards count skipped tests as green.
 */
export function renderJunit(report: Report): string {
  if (report.command === 'audit') return renderAuditJunit(report, report.findings ?? []);
  const s = report.summary;
  const seconds = (ms: number): string => (ms / 1000).toFixed(3);
  const total = report.results.reduce((sum, r) => sum + r.observation.durationMs, 0);
  const cases = report.results.map((r) => {
    const name = escapeXml(r.id);
    const classname = escapeXml(`egress-verify.${r.kind}`);
    const text = escapeXml(
      [
        `target: ${r.target}`,
        `observed: ${r.observation.outcome}`,
        `detail: ${r.observation.detail}`,
        ...(r.pod ? [`pod: ${r.pod}`] : []),
        ...(r.node ? [`node: ${r.node}`] : []),
      ].join('\n'),
    );
    const open = `    <testcase classname="${classname}" name="${name}" time="${seconds(r.observation.durationMs)}">`;
    if (r.verdict === 'pass') return `${open}</testcase>`;
    const tag = r.verdict === 'error' ? 'error' : 'failure';
    return `${open}\n      <${tag} type="${r.verdict}" message="${escapeXml(r.reason)}">${text}</${tag}>\n    </testcase>`;
  });
  // Findings that decide the verdict are failures too, so a run that probed nothing is not green.
  const deciding = (report.findings ?? [])
    .filter((f) => f.decides !== undefined)
    .map(
      (f) =>
        `    <testcase classname="egress-verify.twin" name="${escapeXml(`${f.ruleId} ${f.object.kind}/${f.object.name}`)}" time="0.000">\n      <failure type="${f.decides}" message="${escapeXml(f.fix)}">${escapeXml(f.message)}</failure>\n    </testcase>`,
    );
  const counts = { tests: s.total + deciding.length, failures: s.fail + s.inconclusive + deciding.length, errors: s.error };
  return document(report, { ...counts, time: seconds(total) }, [...deciding, ...cases]);
}

/** An audit: one testcase per rule, a failure when it found something at or above fail-on. */
function renderAuditJunit(report: Report, findings: readonly AuditFinding[]): string {
  const failOn = report.failOn ?? 'high';
  if (report.objectsRead === 0) {
    const reason = escapeXml(report.warnings?.find((w) => w.startsWith('nothing to audit')) ?? 'nothing to audit');
    const input = `    <testcase classname="egress-verify.audit" name="input" time="0.000">\n      <failure type="inconclusive" message="${reason}"></failure>\n    </testcase>`;
    return document(report, { tests: 1, failures: 1, errors: 0, time: '0.000' }, [input]);
  }
  const byRule = new Map<string, AuditFinding[]>(RULES.map((r) => [r.id, []]));
  for (const f of findings) byRule.set(f.ruleId, [...(byRule.get(f.ruleId) ?? []), f]);
  let failures = 0;
  const cases = [...byRule].map(([ruleId, hits]) => {
    const open = `    <testcase classname="egress-verify.audit" name="${escapeXml(ruleId)}" time="0.000">`;
    const text = hits.map((f) => `${f.location ? `${f.location.file}:${f.location.line}: ` : ''}${f.severity}: ${f.message}`).join('\n');
    if (auditVerdict(hits, failOn) !== 'fail')
      return hits.length === 0 ? `${open}</testcase>` : `${open}\n      <system-out>${escapeXml(text)}</system-out>\n    </testcase>`;
    failures++;
    return `${open}\n      <failure type="${escapeXml(hits[0]?.severity ?? 'high')}" message="${escapeXml(hits[0]?.fix ?? '')}">${escapeXml(text)}</failure>\n    </testcase>`;
  });
  return document(report, { tests: byRule.size, failures, errors: 0, time: '0.000' }, cases);
}

/** One suite per report: nothing is ever <skipped/>, so skipped="0". */
function document(report: Report, c: { tests: number; failures: number; errors: number; time: string }, cases: readonly string[]): string {
  const counts = `tests="${c.tests}" failures="${c.failures}" errors="${c.errors}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="egress-verify" ${counts} time="${c.time}">`,
    `  <testsuite name="egress-verify ${report.command}" ${counts} skipped="0" timestamp="${report.startedAt}" time="${c.time}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
