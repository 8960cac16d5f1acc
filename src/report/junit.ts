import { RULE_IDS } from '../audit/catalogue.js';
import { auditVerdict, findingLocations, findingsByRule } from '../audit/finding.js';
import type { AuditReport, ProbeReport, Report, RunReport } from './report.js';

/**
 * Characters XML 1.0 forbids even as references (most C0 controls, lone surrogates, U+FFFE/F)
 * make the whole file unparseable: they come from a companion's reply, so shown as \xNN.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point.
const XML_FORBIDDEN = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const escapeXml = (s: string): string =>
  s
    .replace(XML_FORBIDDEN, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);

/**
 * Dashboards key a test's history on (classname, name): with several workloads or --per-node the
 * same check runs more than once, so the workload and node go into the name. Not the pod: its
 * name changes every run and would break the history.
 */
const caseName = (r: Report['results'][number]): string => {
  const where = [r.workload, r.node].filter((x): x is string => x !== undefined && x !== '');
  return where.length > 0 ? `${r.id} [${where.join(' @ ')}]` : r.id;
};

/**
 * JUnit XML for CI dashboards. Inconclusive checks are failures of type "inconclusive", never
 * <skipped/>: dashboards count skipped tests as green. Only a check the pod could not send at all
 * (an IPv6 target, no IPv6 address) is <skipped/>: it is not a pass, and it hides no failure.
 */
export function renderJunit(report: Report): string {
  switch (report.command) {
    case 'audit':
      return renderAuditJunit(report);
    case 'probe':
    case 'run':
      return renderChecksJunit(report);
  }
}

/** A probe or a run: a testcase per check, and one per finding that decides the verdict. */
function renderChecksJunit(report: ProbeReport | RunReport): string {
  const s = report.summary;
  const seconds = (ms: number): string => (ms / 1000).toFixed(3);
  // The suite's time is how long the run took, not the sum of checks that ran side by side.
  const wall = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
  const cases = report.results.map((r) => {
    const name = escapeXml(caseName(r));
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
    if (r.verdict === 'skip') return `${open}\n      <skipped message="${escapeXml(r.reason)}"/>\n    </testcase>`;
    const tag = r.verdict === 'error' ? 'error' : 'failure';
    return `${open}\n      <${tag} type="${r.verdict}" message="${escapeXml(r.reason)}">${text}</${tag}>\n    </testcase>`;
  });
  // Findings that decide the verdict are failures too, so a run that probed nothing is not green;
  // the message says what was found, the body adds the fix.
  const deciding = (report.findings ?? [])
    .filter((f) => f.decides !== undefined)
    .map((f) => {
      const name = escapeXml(`${f.ruleId} ${f.object.kind}/${f.object.namespace ? `${f.object.namespace}/` : ''}${f.object.name}`);
      const body = escapeXml(`${f.message}\nfix: ${f.fix}`);
      return `    <testcase classname="egress-verify.twin" name="${name}" time="0.000">\n      <failure type="${f.decides}" message="${escapeXml(f.message)}">${body}</failure>\n    </testcase>`;
    });
  const counts = {
    tests: s.total + deciding.length,
    failures: s.fail + s.inconclusive + deciding.length,
    errors: s.error,
    skipped: s.skip ?? 0,
  };
  return document(report, { ...counts, time: seconds(Number.isFinite(wall) && wall > 0 ? wall : 0) }, [...deciding, ...cases]);
}

/** An audit: one testcase per rule, a failure when it found something at or above fail-on. */
function renderAuditJunit(report: AuditReport): string {
  const { failOn, findings } = report;
  if (report.objectsRead === 0) {
    const reason = escapeXml(report.warnings?.find((w) => w.startsWith('nothing to audit')) ?? 'nothing to audit');
    const input = `    <testcase classname="egress-verify.audit" name="input" time="0.000">\n      <failure type="inconclusive" message="${reason}"></failure>\n    </testcase>`;
    return document(report, { tests: 1, failures: 1, errors: 0, skipped: 0, time: '0.000' }, [input]);
  }
  const byRule = findingsByRule(RULE_IDS, findings);
  let failures = 0;
  const cases = [...byRule].map(([ruleId, hits]) => {
    const open = `    <testcase classname="egress-verify.audit" name="${escapeXml(ruleId)}" time="0.000">`;
    const text = hits.map((f) => `${f.location ? `${findingLocations(f).join(', ')}: ` : ''}${f.severity}: ${f.message}`).join('\n');
    if (auditVerdict(hits, failOn) !== 'fail')
      return hits.length === 0 ? `${open}</testcase>` : `${open}\n      <system-out>${escapeXml(text)}</system-out>\n    </testcase>`;
    failures++;
    // The message is what was found (a dashboard shows only it); the fix is in the rule's docs.
    const found = `${hits[0]?.message ?? ruleId}${hits.length > 1 ? ` (and ${hits.length - 1} more)` : ''}`;
    return `${open}\n      <failure type="${escapeXml(hits[0]?.severity ?? 'high')}" message="${escapeXml(found)}">${escapeXml(text)}</failure>\n    </testcase>`;
  });
  return document(report, { tests: byRule.size, failures, errors: 0, skipped: 0, time: '0.000' }, cases);
}

/** One suite per report. */
function document(
  report: Report,
  c: { tests: number; failures: number; errors: number; skipped: number; time: string },
  cases: readonly string[],
): string {
  const counts = `tests="${c.tests}" failures="${c.failures}" errors="${c.errors}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="egress-verify" ${counts} time="${c.time}">`,
    `  <testsuite name="egress-verify ${report.command}" ${counts} skipped="${c.skipped}" timestamp="${report.startedAt}" time="${c.time}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
