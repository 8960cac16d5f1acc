import { spawnSync } from 'node:child_process';
import { Ajv2020 } from 'ajv/dist/2020.js';
import t from 'tap';
import { Parser } from 'tap-parser';
import type { CheckResult, Verdict } from '../../probes/base/model.js';
import type { AuditFinding } from '../audit/finding.js';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { reportValidator } from './read.js';
import { buildReport, overallVerdict, runVerdict, verdictFromRows } from './report.js';
import { renderTap } from './tap.js';

const result = (id: string, verdict: Verdict): CheckResult => ({
  id,
  kind: 'tcp',
  expect: 'blocked',
  target: '203.0.113.10:443/tcp',
  verdict,
  reason: `because # ${verdict}`,
  observation: { outcome: 'timeout', class: 'blocked', durationMs: 1500, detail: 'no handshake: <&>"' },
  control: 'proxy-https/site',
  controlSource: 'companion',
});

const report = buildReport(
  'probe',
  [result('tcp/a', 'pass'), result('tcp/b#1', 'fail'), result('tcp/c', 'inconclusive'), result('tcp/d', 'error')],
  new Date('2026-11-27T00:00:00Z'),
  new Date('2026-11-27T00:00:02Z'),
);

t.test('overall verdict: fail > error > inconclusive > pass; nothing proven is not a pass', async (t) => {
  t.equal(report.verdict, 'fail');
  t.equal(overallVerdict([result('a', 'pass'), result('b', 'inconclusive'), result('c', 'error')]), 'error');
  t.equal(overallVerdict([result('a', 'pass'), result('b', 'inconclusive')]), 'inconclusive');
  t.equal(overallVerdict([result('a', 'pass')]), 'pass');
  t.equal(overallVerdict([]), 'inconclusive');
  t.same(report.summary, { total: 4, pass: 1, fail: 1, inconclusive: 1, error: 1 });
});

t.test('a skip (an IPv6 check from a pod without IPv6) is never a pass, and alone proves nothing', async (t) => {
  t.equal(overallVerdict([result('a', 'pass'), result('b', 'skip')]), 'pass', 'the checks that ran decide');
  t.equal(overallVerdict([result('a', 'skip'), result('b', 'skip')]), 'inconclusive');
  t.equal(overallVerdict([result('a', 'skip'), result('b', 'inconclusive')]), 'inconclusive');
  const skipped = buildReport('probe', [result('a', 'pass'), result('b', 'skip')], new Date(0), new Date(1000));
  t.same(skipped.summary, { total: 2, pass: 1, fail: 0, inconclusive: 0, error: 0, skip: 1 });
  t.ok(reportValidator()(JSON.parse(JSON.stringify(skipped))), 'the schema knows skip');
  const xml = renderJunit(skipped);
  t.match(xml, /skipped="1"/);
  t.match(xml, /<testcase classname="[^"]*" name="b"[^>]*>\s*<skipped message="because # skip"\/>/);
  const points: { ok: boolean; skip: string | boolean }[] = [];
  const parser = new Parser();
  parser.on('assert', (a: { ok: boolean; skip: string | boolean }) => points.push(a));
  const done = new Promise<{ ok: boolean; skip: number }>((resolve) => parser.on('complete', resolve));
  parser.end(renderTap(skipped));
  const final = await done;
  t.same(
    points.map((p) => p.skip),
    [false, 'because # skip'],
    'TAP SKIP directive with the reason',
  );
  t.equal(final.skip, 1);
});

t.test('passes without one path that must be blocked proven blocked are not a pass', async (t) => {
  const as = (r: CheckResult, workload?: string): CheckResult => (workload ? { ...r, workload } : r);
  const reach = (verdict: Verdict, workload?: string): CheckResult =>
    as({ ...result('proxy-https/site', verdict), expect: 'reachable', kind: 'proxy-https' }, workload);
  const block = (verdict: Verdict, workload?: string): CheckResult => as(result('tcp/site', verdict), workload);
  t.equal(overallVerdict([reach('pass')]), 'inconclusive', 'the allowed path alone (a catalogue with no outside target)');
  t.equal(overallVerdict([reach('pass'), block('skip')]), 'inconclusive', 'every block skipped');
  t.equal(overallVerdict([reach('pass'), block('pass')]), 'pass');
  t.equal(overallVerdict([reach('fail')]), 'fail', 'a broken allowed path still fails');
  t.equal(
    overallVerdict([reach('pass', 'deployment/a'), block('pass', 'deployment/a'), reach('pass', 'deployment/b')]),
    'inconclusive',
    'each workload needs a block of its own',
  );
  t.equal(overallVerdict([block('pass', 'deployment/a'), block('pass', 'deployment/b')]), 'pass');
  t.equal(runVerdict([reach('pass')], []), 'inconclusive', 'a run the same');

  const vacuous = buildReport('probe', [reach('pass')], new Date(0), new Date(1000));
  t.equal(vacuous.verdict, 'inconclusive');
  t.match(vacuous.warnings, [/^the probe: no check of a path that must be blocked passed/]);
  t.equal(verdictFromRows(vacuous), 'inconclusive', '`report render` and `evidence verify` recompute the same');
  t.ok(reportValidator()(JSON.parse(JSON.stringify(vacuous))), 'the schema admits it');
  t.match(renderHtml(vacuous), /Every check passed, but none proved a path that must be blocked blocked/);
  t.match(renderTap(vacuous), /no check of a path that must be blocked passed/, 'TAP says why');
  t.equal(buildReport('probe', [reach('pass'), block('pass')], new Date(0), new Date(1000)).warnings, undefined);
  t.equal(
    buildReport('probe', [reach('pass'), block('fail')], new Date(0), new Date(1000)).warnings,
    undefined,
    'a fail needs no such warning',
  );
});

t.test("a run's verdict: a finding that decides it makes it worse, never better", async (t) => {
  const decides = (d: AuditFinding['decides']): AuditFinding => ({
    ruleId: 'twin-inexact',
    severity: 'low',
    message: 'm',
    fix: 'f',
    object: { kind: 'Deployment', name: 'x' },
    ...(d ? { decides: d } : {}),
  });
  const passing = [result('a', 'pass')];
  t.equal(runVerdict(passing, []), 'pass');
  t.equal(runVerdict(passing, [decides(undefined)]), 'pass', 'an explaining finding does not decide');
  t.equal(runVerdict(passing, [decides('inconclusive')]), 'inconclusive', 'an inexact twin is never a pass');
  t.equal(runVerdict([], [decides('fail')]), 'fail', 'host-network fails before any probing');
  t.equal(runVerdict([result('a', 'fail')], [decides('inconclusive')]), 'fail');
  t.equal(runVerdict([result('a', 'error')], [decides('inconclusive')]), 'error');
});

t.test('the JSON report matches the published schema', async (t) => {
  const validate = reportValidator();
  t.ok(validate(JSON.parse(JSON.stringify(report))), JSON.stringify(validate.errors));
  t.notOk(validate({ ...report, verdict: 'maybe' }), 'an unknown verdict is rejected');
  t.ok(new Ajv2020({ strict: true, validateFormats: false }).validateSchema(JSON.parse(JSON.stringify(validate.schema))));
});

t.test('TAP 14: only a pass is ok, and diagnostics parse as YAML', async (t) => {
  const tap = renderTap(report);
  const points: { ok: boolean; name: string; diag: Record<string, unknown> | null }[] = [];
  const parser = new Parser();
  parser.on('assert', (a: { ok: boolean; name: string; diag: Record<string, unknown> | null }) => points.push(a));
  const done = new Promise<{ ok: boolean }>((resolve) => parser.on('complete', resolve));
  parser.end(tap);
  const final = await done;
  t.ok(tap.startsWith('TAP version 14\n1..4\n'));
  t.equal(final.ok, false, 'a stream with a fail is not ok');
  t.same(
    points.map((p) => p.ok),
    [true, false, false, false],
  );
  t.equal(points[1]?.name, 'tcp/b#1', 'a # in an id is escaped, not a directive');
  t.match(points[2]?.diag, { verdict: 'inconclusive', observed: 'timeout', target: '203.0.113.10:443/tcp', control_source: 'companion' });
});

t.test('JUnit: inconclusive is a failure, never skipped; XML is escaped', async (t) => {
  const xml = renderJunit(report);
  t.match(xml, /tests="4" failures="2" errors="1"/);
  t.match(xml, /<failure type="inconclusive"/);
  t.notMatch(xml, /<skipped/);
  t.match(xml, /no handshake: &lt;&amp;&gt;&quot;/);
});

t.test('a run that fails before probing (host-network) is a failing test point, never "1..0"', async (t) => {
  const finding: AuditFinding = {
    ruleId: 'host-network',
    severity: 'critical',
    message: 'deployment/x: hostNetwork: true',
    fix: 'Remove hostNetwork.',
    object: { kind: 'Deployment', namespace: 'ns', name: 'x' },
    decides: 'fail',
  };
  const run = {
    ...buildReport('run', [], new Date(0), new Date(1)),
    verdict: runVerdict([], [finding]),
    findings: [finding],
    subject: { twins: [{ workload: 'deployment/x', copied: ['hostNetwork'], differences: [] }] },
  };
  const tap = renderTap(run);
  t.match(tap, /^1\.\.1$/m);
  t.match(tap, /^not ok 1 - host-network Deployment\/x$/m);
  t.match(tap, /^# twin: deployment\/x: copied hostNetwork$/m);
  const parser = new Parser();
  const done = new Promise<{ ok: boolean; fail: number }>((resolve) => parser.on('complete', resolve));
  parser.end(tap);
  t.match(await done, { ok: false, fail: 1 });
  t.match(renderJunit(run), /failures="1"[\s\S]*<failure type="fail"/);
  t.equal(verdictFromRows(run), 'fail', 'report render recomputes the same verdict from the rows and the deciding finding');
  const validate = reportValidator();
  t.ok(validate(JSON.parse(JSON.stringify(run))), JSON.stringify(validate.errors));
});

/** Parsed by expat (Python's XML parser), as a CI dashboard's parser would. */
function xmlParses(xml: string): string {
  const r = spawnSync('python3', ['-c', 'import sys, xml.etree.ElementTree as E; E.fromstring(sys.stdin.buffer.read())'], {
    input: xml,
    encoding: 'utf8',
  });
  return r.status === 0 ? '' : (r.stderr.trim().split('\n').at(-1) ?? 'failed');
}

t.test('JUnit as dashboards read it: parseable with hostile text, unique case names, wall time', async (t) => {
  const hostile = {
    ...result('tcp/x', 'fail'),
    observation: { ...result('tcp/x', 'fail').observation, detail: 'reply \u0001\u001b[31m\u0000 \ud800 end' },
  };
  const onNode = (node: string, workload: string): CheckResult => ({ ...result('tcp/a', 'fail'), node, workload, pod: `p-${node}` });
  const run = buildReport(
    'run',
    [hostile, onNode('node-a', 'deployment/app'), onNode('node-b', 'deployment/app'), onNode('node-a', 'deployment/other')],
    new Date('2026-11-27T00:00:00Z'),
    new Date('2026-11-27T00:00:42Z'),
  );
  const xml = renderJunit(run);
  t.equal(xmlParses(xml), '', 'the XML parses');
  t.match(xml, /reply \\x01\\x1b\[31m\\x00 \\xd800 end/);
  const names = [...xml.matchAll(/<testcase classname="([^"]*)" name="([^"]*)"/g)].map((m) => `${m[1]} ${m[2]}`);
  t.equal(new Set(names).size, names.length, `(classname, name) pairs are unique: ${names.join('; ')}`);
  t.match(names, ['egress-verify.tcp tcp/x', 'egress-verify.tcp tcp/a [deployment/app @ node-a]']);
  t.match(xml, /<testsuite [^>]* time="42\.000"/, "the suite took the run's wall time, not the sum of checks");
});
