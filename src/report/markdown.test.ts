import t from 'tap';
import type { CheckResult, Verdict } from '../../probes/base/model.js';
import type { AuditFinding } from '../audit/finding.js';
import { diffRuns, runVerdicts } from './diff.js';
import { escapeMarkdown, MARKDOWN_ROWS, renderMarkdown } from './markdown.js';
import { buildAuditReport, buildReport, type Report } from './report.js';

const result = (id: string, verdict: Verdict, reason = `reason of ${id}`): CheckResult => ({
  id,
  kind: 'tcp',
  expect: 'blocked',
  target: '203.0.113.10:443/tcp',
  verdict,
  reason,
  observation: { outcome: 'timeout', class: 'blocked', durationMs: 1500, detail: 'no handshake' },
  pod: 'probe-a',
  node: 'node-a',
});

const at = new Date('2026-11-27T00:00:00Z');

const run = (results: CheckResult[]): Report => ({
  ...buildReport('run', results, at, at),
  subject: { namespace: 'production-agents', workload: 'data-processor', runId: 'ev-1' },
});

/** The rows of the first table, header and separator left out. */
const tableRows = (md: string): string[] =>
  md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Check') && !l.startsWith('| ---'));

t.test('first line: an emoji-free verdict marker and the subject; then the counts', async (t) => {
  const md = renderMarkdown(run([result('tcp/a', 'pass'), result('tcp/b', 'fail'), result('tcp/c', 'inconclusive')]));
  const lines = md.split('\n');
  t.equal(lines[0], '**egress-verify: FAIL** — run of production-agents/data-processor');
  t.match(md, /^3 checks: 1 pass, 1 fail, 1 inconclusive, 0 error$/m);
  t.match(md, /run ev-1/);
  t.notMatch(md, /\p{Extended_Pictographic}/u);
  t.equal(renderMarkdown(buildReport('probe', [result('tcp/a', 'pass')], at, at)).split('\n')[0], '**egress-verify: PASS** — probe');
});

t.test('a table of the checks that did not pass, worst first, escaped', async (t) => {
  const md = renderMarkdown(
    run([
      result('tcp/a', 'pass'),
      result('tcp/i', 'inconclusive', 'a | b\nc'),
      result('tcp/e', 'error', '*bold* [link](http://x) <img src=x> `code` $x$'),
      result('tcp/f', 'fail'),
    ]),
  );
  t.match(md, /\| Check \| Pod \/ node \| Verdict \| Reason \|\n\| --- \| --- \| --- \| --- \|/);
  const rows = tableRows(md);
  t.equal(rows.length, 3, 'a pass is not listed');
  t.equal(rows[0], '| tcp/f | probe-a / node-a | **fail** | reason of tcp/f |');
  t.match(rows[1], /\*\*error\*\* \| \\\*bold\\\* \\\[link\\\]\(http:\/\/x\) \\<img src=x\\> \\`code\\` \\\$x\\\$ \|$/);
  t.equal(
    rows[2],
    '| tcp/i | probe-a / node-a | **inconclusive** | a \\| b<br>c |',
    'a pipe cannot split the cell, a newline cannot end the row',
  );
  for (const row of rows) t.equal(row.split(/(?<!\\)\|/).length, 6, 'four cells');
});

t.test('the table stops at MARKDOWN_ROWS and says how many more', async (t) => {
  const many = Array.from({ length: MARKDOWN_ROWS + 7 }, (_, i) => result(`tcp/${i}`, 'fail'));
  const md = renderMarkdown(run(many));
  t.equal(tableRows(md).length, MARKDOWN_ROWS);
  t.match(md, /^… and 7 more \(see the full report\)$/m);
  t.notMatch(renderMarkdown(run(many.slice(0, MARKDOWN_ROWS))), /more \(see the full report\)/);
});

t.test('audit findings: high and critical only, briefly', async (t) => {
  const finding = (severity: AuditFinding['severity'], ruleId: string): AuditFinding => ({
    ruleId,
    severity,
    message: `${ruleId} hit`,
    fix: 'fix it',
    object: { kind: 'NetworkPolicy', namespace: 'ns', name: 'allow_all' },
    location: { file: 'policy.yaml', line: 3 },
  });
  const report = buildAuditReport(
    ['wide-egress', 'dns-udp-only', 'unrestricted-workload'],
    [finding('critical', 'wide-egress'), finding('low', 'dns-udp-only'), finding('high', 'unrestricted-workload')],
    'high',
    [],
    at,
    at,
    3,
  );
  const md = renderMarkdown(report);
  t.equal(md.split('\n')[0], '**egress-verify: FAIL** — audit');
  t.match(md, /^3 rules: 1 pass, 2 fail \(fail-on high\); 3 findings$/m);
  t.match(md, /\*\*Audit findings, high and critical\*\* \(2 of 3\)/);
  t.match(md, /^- \*\*critical\*\* wide-egress: NetworkPolicy\/ns\/allow\\_all \(policy\.yaml:3\): wide-egress hit$/m);
  t.match(md, /^- \*\*high\*\* unrestricted-workload: /m);
  t.notMatch(md, /dns-udp-only hit/);
  t.notMatch(md, /\| Check/, 'no probe results, no table');
});

t.test('changes since the previous run as bullet lists, only when the report has them', async (t) => {
  const now = run([result('tcp/a', 'fail'), result('tcp/b', 'pass'), result('tcp/c', 'error')]);
  t.notMatch(renderMarkdown(now), /Changes since/);
  const before = runVerdicts({
    ...now,
    startedAt: '2026-11-26T00:00:00.000Z',
    verdict: 'fail',
    results: [result('tcp/a', 'pass'), result('tcp/b', 'fail'), result('tcp/c', 'pass')],
  });
  const md = renderMarkdown({ ...now, changes: diffRuns(before, runVerdicts(now)) });
  t.match(md, /\*\*Changes since 2026-11-26T00:00:00\.000Z\*\* \(fail then\)/);
  t.match(md, /New bypasses \(1\):\n\n- tcp\/a: pass → fail \(203\.0\.113\.10:443\/tcp\)/);
  t.match(md, /Fixed \(1\):\n\n- tcp\/b: fail → pass/);
  t.match(md, /Became inconclusive \(1\):\n\n- tcp\/c: pass → error/);
  t.notMatch(md, /Other changes/);
  const unchanged = renderMarkdown({ ...now, changes: diffRuns(runVerdicts(now), runVerdicts(now)) });
  t.match(unchanged, /No check changed its verdict\./);
});

t.test('escapeMarkdown leaves plain text alone', async (t) => {
  t.equal(escapeMarkdown('dns/direct/198.51.100.53:53/udp (timeout)'), 'dns/direct/198.51.100.53:53/udp (timeout)');
  t.equal(escapeMarkdown('a_b*c'), 'a\\_b\\*c');
});
