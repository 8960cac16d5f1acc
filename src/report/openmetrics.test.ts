import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import t from 'tap';
import type { CheckKind, CheckResult, Verdict } from '../../probes/base/model.js';
import type { AuditFinding } from '../audit/finding.js';
import { renderOpenMetrics } from './openmetrics.js';
import { buildReport, type Report, runVerdict } from './report.js';

/** Debian's `prometheus` (promtool) and `python3-prometheus-client` (a strict OpenMetrics parser), from scripts/setup.sh. */
const PROMTOOL = '/usr/bin/promtool';
const PYTHON = '/usr/bin/python3';

const result = (workload: string, kind: CheckKind, id: string, verdict: Verdict, durationMs: number): CheckResult => ({
  id,
  kind,
  expect: 'blocked',
  target: '203.0.113.10:443/tcp',
  verdict,
  reason: verdict,
  observation: { outcome: 'timeout', class: 'blocked', durationMs, detail: '' },
  workload,
});

const finding: AuditFinding = {
  ruleId: 'wide-egress',
  severity: 'critical',
  message: 'm',
  fix: 'f',
  object: { kind: 'NetworkPolicy', namespace: 'a', name: 'allow-all' },
};

function sampleRun(workloads: readonly string[]): Report {
  const results = workloads.flatMap((w) => [
    result(w, 'tcp', 'tcp/a', 'pass', 1500),
    result(w, 'tcp', 'tcp/b', w.includes('broken') ? 'fail' : 'pass', 250),
    result(w, 'dns', 'dns/direct', 'inconclusive', 3000),
  ]);
  const report = buildReport('run', results, new Date('2026-11-27T00:00:00Z'), new Date('2026-11-27T00:00:09.5Z'));
  return { ...report, findings: [finding], verdict: runVerdict(results, [finding]) };
}

const lines = (text: string, name: string): string[] => text.split('\n').filter((l) => l.startsWith(`${name}{`));

t.test('per workload and check kind: the worst verdict one-hot, counts and durations; the run verdict and time', async (t) => {
  const text = renderOpenMetrics(sampleRun(['deployment/ok', 'deployment/broken']));
  t.ok(text.endsWith('\n# EOF\n'), 'OpenMetrics ends with # EOF');
  t.match(text, /^egress_verify_last_run_timestamp_seconds\{command="run"\} 1795737609\.5$/m);
  t.match(text, /^egress_verify_run_duration_seconds\{command="run"\} 9\.5$/m);
  t.same(lines(text, 'egress_verify_run_verdict'), [
    'egress_verify_run_verdict{command="run",verdict="pass"} 0',
    'egress_verify_run_verdict{command="run",verdict="fail"} 1',
    'egress_verify_run_verdict{command="run",verdict="inconclusive"} 0',
    'egress_verify_run_verdict{command="run",verdict="error"} 0',
  ]);
  const verdicts = lines(text, 'egress_verify_check_verdict').filter((l) => l.endsWith(' 1'));
  t.same(verdicts, [
    'egress_verify_check_verdict{workload="deployment/ok",kind="tcp",verdict="pass"} 1',
    'egress_verify_check_verdict{workload="deployment/ok",kind="dns",verdict="inconclusive"} 1',
    'egress_verify_check_verdict{workload="deployment/broken",kind="tcp",verdict="fail"} 1',
    'egress_verify_check_verdict{workload="deployment/broken",kind="dns",verdict="inconclusive"} 1',
  ]);
  t.equal(lines(text, 'egress_verify_check_verdict').length, 16, 'every verdict of every group has a series');
  t.match(text, /^egress_verify_checks\{workload="deployment\/broken",kind="tcp",verdict="fail"\} 1$/m);
  t.match(text, /^egress_verify_checks\{workload="deployment\/broken",kind="tcp",verdict="pass"\} 1$/m);
  t.match(text, /^egress_verify_check_duration_seconds_sum\{workload="deployment\/ok",kind="tcp"\} 1\.75$/m);
  t.match(text, /^egress_verify_check_duration_seconds_count\{workload="deployment\/ok",kind="tcp"\} 2$/m);
  t.match(text, /^egress_verify_findings\{rule="wide-egress",severity="critical"\} 1$/m);
});

t.test('label values are escaped; a family with no sample is left out', async (t) => {
  const text = renderOpenMetrics(buildReport('probe', [result('a"b\\c\nd', 'udp', 'u', 'pass', 1)], new Date(0), new Date(1000)));
  t.match(text, /^egress_verify_checks\{workload="a\\"b\\\\c\\nd",kind="udp",verdict="pass"\} 1$/m);
  t.notMatch(text, /egress_verify_findings/, 'no findings: no family');
});

t.test('promtool check metrics accepts the text (the Prometheus format, linted)', async (t) => {
  t.ok(existsSync(PROMTOOL), `${PROMTOOL} is installed by scripts/setup.sh`);
  for (const report of [sampleRun(['deployment/ok', 'deployment/broken']), buildReport('probe', [], new Date(0), new Date(0))]) {
    const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: renderOpenMetrics(report), encoding: 'utf8', timeout: 30_000 });
    t.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
    t.equal(`${check.stdout}${check.stderr}`.trim(), '', 'no lint problem');
  }
  const bad = spawnSync(PROMTOOL, ['check', 'metrics'], { input: '# TYPE x counter\nx 1\n', encoding: 'utf8', timeout: 30_000 });
  t.not(bad.status, 0, 'promtool does lint: a counter without _total is a problem');
});

t.test('a strict OpenMetrics parser reads every family', async (t) => {
  const parse = [
    'import sys',
    'from prometheus_client.openmetrics.parser import text_string_to_metric_families',
    'for f in text_string_to_metric_families(sys.stdin.read()): print(f.name, f.type, len(f.samples))',
  ].join('\n');
  const out = spawnSync(PYTHON, ['-c', parse], {
    input: renderOpenMetrics(sampleRun(['deployment/ok'])),
    encoding: 'utf8',
    timeout: 30_000,
  });
  t.equal(out.status, 0, out.stderr);
  t.same(out.stdout.trim().split('\n'), [
    'egress_verify_last_run_timestamp_seconds gauge 1',
    'egress_verify_run_duration_seconds gauge 1',
    'egress_verify_run_verdict gauge 4',
    'egress_verify_check_verdict gauge 8',
    // Counts per check verdict, skip included.
    'egress_verify_checks gauge 10',
    'egress_verify_check_duration_seconds summary 4',
    'egress_verify_findings gauge 1',
  ]);
  const broken = spawnSync(PYTHON, ['-c', parse], { input: 'x 1\n', encoding: 'utf8', timeout: 30_000 });
  t.not(broken.status, 0, 'the parser is strict: text without # EOF is refused');
});
