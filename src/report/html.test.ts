import t from 'tap';
import type { CheckResult, Verdict } from '../../probes/base/model.js';
import type { AuditFinding } from '../audit/finding.js';
import { diffRuns, runVerdicts } from './diff.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import { parseOutputs, render } from './output.js';
import { buildAuditReport, buildReport, type Report, type RunReport } from './report.js';

const HOSTILE = '<script>alert(1)</script>';

const result = (id: string, verdict: Verdict, node?: string): CheckResult => ({
  id,
  kind: 'tcp',
  expect: 'blocked',
  target: '203.0.113.10:443/tcp',
  verdict,
  reason: `reason of ${id}`,
  observation: { outcome: verdict === 'fail' ? 'connected' : 'timeout', class: 'blocked', durationMs: 1500, detail: 'no handshake' },
  ...(node && { pod: `probe-${node}`, node }),
});

const at = new Date('2026-11-27T00:00:00Z');

/** A `run --per-node`: three checks on two pods, the third only on node-a. */
function perNodeReport(): RunReport {
  const results = [
    result('tcp/a', 'pass', 'node-a'),
    result('tcp/b', 'fail', 'node-a'),
    result('tcp/c', 'inconclusive', 'node-a'),
    result('tcp/a', 'pass', 'node-b'),
    result('tcp/b', 'error', 'node-b'),
  ];
  return {
    ...buildReport('run', results, at, new Date('2026-11-27T00:00:30Z')),
    subject: {
      namespace: 'production-agents',
      workload: 'data-processor',
      pods: [
        { name: 'probe-node-a', node: 'node-a' },
        { name: 'probe-node-b', node: 'node-b' },
      ],
    },
  };
}

/** The rows of the matrix's body, each as its cells' markup. */
function matrixRows(html: string): string[] {
  const body = /<table id="matrix">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(html)?.[1] ?? '';
  return body.split('<tr>').slice(1);
}

const cellClasses = (row: string | undefined): string[] => [...(row ?? '').matchAll(/<td class="([^"]+)"/g)].map((m) => m[1] ?? '');

t.test('the verdict comes first, as a banner with the word and what it means', async (t) => {
  const html = renderHtml(perNodeReport());
  t.ok(html.startsWith('<!DOCTYPE html>'));
  t.match(
    html,
    /<header id="verdict" class="verdict verdict-fail">[\s\S]*<h1>FAIL<\/h1>[\s\S]*1 bypass: traffic got out a way it must not\./,
  );
  t.ok(html.indexOf('id="verdict"') < html.indexOf('id="subject"'));
  t.ok(html.indexOf('id="subject"') < html.indexOf('id="matrix"'));
  t.ok(html.indexOf('id="matrix"') < html.indexOf('id="details"'));
  const pass = renderHtml(buildReport('probe', [result('tcp/a', 'pass')], at, at));
  t.match(pass, /verdict verdict-pass[\s\S]*Every check proved what it must/);
  const error = renderHtml(buildReport('probe', [result('tcp/a', 'pass'), result('tcp/b', 'error')], at, at));
  t.match(error, /verdict verdict-error[\s\S]*the probe could not run 1 check of 2/);
  const inconclusive = renderHtml(buildReport('probe', [result('tcp/a', 'inconclusive')], at, at));
  t.match(inconclusive, /verdict verdict-inconclusive[\s\S]*Nothing failed, but not everything could be proven/);
});

t.test('matrix: one row per check, one column per probe pod with its node, a class per cell', async (t) => {
  const html = renderHtml(perNodeReport());
  const header = /<table id="matrix">[\s\S]*?<thead>([\s\S]*?)<\/thead>/.exec(html)?.[1] ?? '';
  t.equal([...header.matchAll(/<th scope="col" class="pod">/g)].length, 2);
  t.match(header, /probe-node-a<\/span><span class="node">node-a</);
  t.match(header, /probe-node-b<\/span><span class="node">node-b</);
  const rows = matrixRows(html);
  t.equal(rows.length, 3);
  t.same(cellClasses(rows[0]), ['cell-pass', 'cell-pass']);
  t.same(cellClasses(rows[1]), ['cell-fail', 'cell-error']);
  t.same(cellClasses(rows[2]), ['cell-inconclusive', 'cell-none'], 'a check not run on a pod is an empty cell');
  t.match(rows[1], /data-verdict="fail" title="reason of tcp\/b">.*fail.*connected/);
  t.match(rows[1], /<a href="#r1" class="word">fail<\/a>/, 'a non-pass cell links to its details');
  t.match(html, /<article id="r1" class="result result-fail">/);
  t.notMatch(html, /<article id="r0"/, 'a plain pass has no details');
});

t.test('a probe report without pods has a single "local" column', async (t) => {
  const html = renderHtml(buildReport('probe', [result('tcp/a', 'pass'), result('tcp/b', 'fail')], at, at));
  t.match(html, /<th scope="col" class="pod"><span class="pod-name">local<\/span><\/th>/);
  t.equal(matrixRows(html).length, 2);
  t.same(matrixRows(html).map(cellClasses), [['cell-pass'], ['cell-fail']]);
});

t.test('details: every non-pass result and every result with a finding, worst first', async (t) => {
  const withFinding: CheckResult = {
    ...result('proxy-https/site', 'pass'),
    finding: { code: 'interception-unverified', failing: false, message: 'interception not verified' },
    observation: {
      outcome: 'http-response',
      class: 'reached',
      durationMs: 80,
      detail: 'HTTP 200',
      facts: { status: 200, issuer: 'CN=guardian' },
    },
  };
  const html = renderHtml(buildReport('probe', [withFinding, result('tcp/i', 'inconclusive'), result('tcp/f', 'fail')], at, at));
  const details = /<section id="details">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';
  t.same(
    [...details.matchAll(/<article id="r(\d)"/g)].map((m) => m[1]),
    ['2', '1', '0'],
  );
  t.match(details, /interception-unverified: interception not verified/);
  t.match(details, /<th scope="row">issuer<\/th><td>CN=guardian<\/td>/);
  t.match(details, /http-response \(reached\) in 80 ms/);
});

t.test('every string from the report is escaped: tags, attributes and YAML alike', async (t) => {
  const hostile: CheckResult = {
    ...result('tcp/<b>x</b>', 'fail', 'node-a'),
    reason: HOSTILE,
    target: '"><img src=x onerror=alert(1)>',
    pod: `pod${HOSTILE}`,
    observation: { outcome: 'connected', class: 'reached', durationMs: 1, detail: HOSTILE, facts: { [HOSTILE]: HOSTILE } },
  };
  const before = runVerdicts(buildReport('run', [{ ...hostile, verdict: 'pass' }], at, at));
  const report: Report = {
    ...buildReport('run', [hostile], at, at),
    warnings: [HOSTILE],
    findings: [finding('critical', HOSTILE)],
    subject: {
      namespace: HOSTILE,
      networkPolicies: [{ name: HOSTILE, resourceVersion: HOSTILE, spec: { podSelector: { matchLabels: { app: HOSTILE } } } }],
    },
    changes: diffRuns(before, runVerdicts(buildReport('run', [hostile], at, at))),
  };
  const html = renderHtml(report);
  t.notMatch(html, /<script/i);
  t.notMatch(html, /<img/i);
  t.notMatch(html, /<b>x<\/b>/);
  t.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  t.match(html, /title="&lt;script&gt;alert\(1\)&lt;\/script&gt;"/, 'inside an attribute too');
  t.match(html, /&quot;&gt;&lt;img src=x onerror=alert\(1\)&gt;/);
  t.match(html, /<h2>Changes since/);
  t.match(html, /app: &lt;script&gt;alert\(1\)&lt;\/script&gt;\n/, 'the policy YAML is escaped');
});

t.test('the page loads nothing: no external URL, no src, no stylesheet link, CSP forbids all loads', async (t) => {
  const report = perNodeReport();
  report.subject = { ...report.subject, cluster: 'https://10.0.0.1:6443', companion: 'http://egress-guardian-svc:8080' };
  const html = renderHtml(report);
  t.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline';/);
  t.notMatch(html, /<(link|script|img|iframe|object|embed|base)\b/i);
  t.notMatch(html, /\s(src|srcset|action|poster)=/i);
  t.notMatch(html, /url\(|@import/i);
  t.same(
    [...html.matchAll(/\shref="([^"]*)"/g)].filter((m) => !m[1]?.startsWith('#')),
    [],
    'links only within the page',
  );
  // What the page says about URLs is text; the template itself names none.
  t.notMatch(renderHtml(perNodeReport()), /https?:/i);
});

function finding(severity: AuditFinding['severity'], message: string): AuditFinding {
  return {
    ruleId: 'wide-egress',
    severity,
    message,
    fix: 'Remove the wide rule.',
    object: { kind: 'NetworkPolicy', namespace: 'production-agents', name: 'allow-all' },
    location: { file: 'manifests/policy.yaml', line: 7 },
  };
}

t.test('an audit report: findings, and no probe results instead of an empty matrix', async (t) => {
  const report = buildAuditReport(['wide-egress', 'dns-udp-only'], [finding('critical', 'egress to 0.0.0.0/0')], 'high', [], at, at, 5);
  const html = renderHtml(report);
  t.match(html, /verdict verdict-fail[\s\S]*1 rule of 2 found something at or above high severity/);
  t.notMatch(html, /id="matrix"/);
  t.match(html, /No probe results: an audit reads manifests and probes nothing\./);
  const section = /<section id="findings">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';
  t.match(section, /<span class="sev sev-critical">critical<\/span>/);
  t.match(section, /<code>wide-egress<\/code>/);
  t.match(section, /NetworkPolicy\/production-agents\/allow-all<span class="location">manifests\/policy\.yaml:7<\/span>/);
  t.match(section, /egress to 0\.0\.0\.0\/0[\s\S]*Fix:<\/b> Remove the wide rule\./);
  t.match(html, /<b>2<\/b> rules/);
  const clean = renderHtml(buildAuditReport(['wide-egress'], [], 'high', [], at, at, 5));
  t.match(clean, /verdict verdict-pass[\s\S]*No rule found anything at or above high severity/);
  t.notMatch(clean, /id="findings"/);
});

t.test('changes, warnings and policies appear only when the report has them', async (t) => {
  const plain = renderHtml(perNodeReport());
  t.notMatch(plain, /id="changes"|id="warnings"|id="policies"/);
  const report = perNodeReport();
  const before = runVerdicts({
    ...report,
    startedAt: '2026-11-26T00:00:00.000Z',
    results: report.results.map((r) => ({ ...r, verdict: 'pass' })),
  });
  const html = renderHtml({
    ...report,
    changes: diffRuns(before, runVerdicts(report)),
    warnings: ['kube-router is old'],
    subject: {
      ...report.subject,
      networkPolicies: [
        { name: 'restrict-workload-egress', resourceVersion: '42', spec: { policyTypes: ['Egress'] } },
        { kind: 'AdminNetworkPolicy', name: 'allow-internet', clusterScoped: true, spec: { priority: 10 } },
      ],
    },
  });
  const changes = /<section id="changes">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';
  t.match(changes, /<h2>Changes since 2026-11-26T00:00:00.000Z<\/h2>/);
  t.match(changes, /<h3>New bypasses \(1\)<\/h3>[\s\S]*<code>tcp\/b @node-a<\/code>.*pass.*→.*fail.*203\.0\.113\.10:443\/tcp/);
  t.match(changes, /<h3>Became inconclusive \(2\)<\/h3>/);
  t.match(html, /<section id="warnings">.*kube-router is old/);
  t.match(
    html,
    /<section id="policies">[\s\S]*<code>restrict-workload-egress<\/code>.*resourceVersion 42[\s\S]*<pre>policyTypes:\n {2}- Egress\n<\/pre>/,
  );
  t.match(
    html,
    /<code>AdminNetworkPolicy\/allow-internet<\/code> <span class="rv">cluster-scoped<\/span>/,
    'the kind and scope of each policy',
  );
});

t.test('wired as the html and md output formats', async (t) => {
  const report = perNodeReport();
  t.same(parseOutputs(['html=out/report.html', 'md']), [
    { format: 'html', file: 'out/report.html', tapVersion: '14' },
    { format: 'md', tapVersion: '14' },
  ]);
  t.equal(render('html', report), renderHtml(report));
  t.equal(render('md', report), renderMarkdown(report));
});
