import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { CheckResult, Verdict } from '../../probes/base/model.js';
import { captureStdout } from '../../test/stdout.js';
import { ExitCode } from '../base/errors.js';
import { buildReport, type Report } from '../report/report.js';
import { reportDiffCommand, reportRenderCommand } from './report.js';

const dir = mkdtempSync(join(tmpdir(), 'ev-diff-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const result = (id: string, verdict: Verdict): CheckResult => ({
  id,
  kind: 'tcp',
  expect: 'blocked',
  target: '203.0.113.10:443/tcp',
  verdict,
  reason: verdict,
  observation: { outcome: 'timeout', class: 'blocked', durationMs: 1, detail: '' },
  workload: 'deployment/data-processor',
});

function saved(name: string, verdicts: Record<string, Verdict>): string {
  const report = buildReport(
    'run',
    Object.entries(verdicts).map(([id, v]) => result(id, v)),
    new Date('2026-11-27T00:00:00Z'),
    new Date('2026-11-27T00:00:09Z'),
  );
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(report));
  return file;
}

const good = saved('good', { 'tcp/a': 'pass', 'tcp/b': 'pass' });
const broken = saved('broken', { 'tcp/a': 'fail', 'tcp/b': 'pass' });
const unproven = saved('unproven', { 'tcp/a': 'pass', 'tcp/b': 'inconclusive' });

t.test('report diff: exit 1 on a new bypass, 3 on lost proof, 0 otherwise', async (t) => {
  const bad = captureStdout(() => reportDiffCommand(good, broken, []));
  t.equal(bad.code, ExitCode.fail);
  t.match(bad.out, /new bypasses \(1\):\n {2}deployment\/data-processor tcp\/a {2}pass -> fail/);
  t.equal(captureStdout(() => reportDiffCommand(broken, good, [])).code, ExitCode.pass, 'a fix is good news');
  t.match(captureStdout(() => reportDiffCommand(broken, good, [])).out, /fixed \(1\)/);
  t.equal(captureStdout(() => reportDiffCommand(good, unproven, [])).code, ExitCode.inconclusive);
  t.equal(captureStdout(() => reportDiffCommand(good, good, [])).code, ExitCode.pass);
});

t.test('report diff -o: NEW rendered with the changes', async (t) => {
  const json = join(dir, 'with-changes.json');
  const html = join(dir, 'with-changes.html');
  t.equal(captureStdout(() => reportDiffCommand(good, broken, [`json=${json}`, `html=${html}`])).code, ExitCode.fail);
  const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
  t.equal(report.verdict, 'fail');
  t.same(
    report.changes?.newBypasses.map((c) => c.id),
    ['tcp/a'],
  );
  t.match(readFileSync(html, 'utf8'), /id="changes"/);
});

t.test('a file that is not a report is a usage error', async (t) => {
  const junk = join(dir, 'junk.json');
  writeFileSync(junk, '{"verdict":"pass"}');
  t.throws(() => reportDiffCommand(junk, good, []), { message: /not an egress-verify report/ });
});

t.test('report render recomputes the verdict from the rows; a report that disagrees is a usage error', async (t) => {
  // issue 10: failed rows under `verdict: pass` rendered PASS and exited 0.
  t.equal(captureStdout(() => reportRenderCommand(broken, ['md'])).code, ExitCode.fail);
  const report = JSON.parse(readFileSync(broken, 'utf8')) as Report;
  const forged = join(dir, 'forged.json');
  writeFileSync(forged, JSON.stringify({ ...report, verdict: 'pass' }));
  t.throws(() => reportRenderCommand(forged, ['md']), {
    name: 'UsageError',
    message: `${forged}: its verdict is pass but its rows give fail`,
  });
  writeFileSync(forged, JSON.stringify({ ...report, summary: { ...report.summary, fail: 0, pass: 2 } }));
  t.throws(() => reportRenderCommand(forged, ['md']), {
    name: 'UsageError',
    message: /its summary \(2 pass, 0 fail.* disagrees with its rows \(1 pass, 1 fail/,
  });
  // An audit that judged nothing is inconclusive, whatever it says.
  const audit = join(dir, 'audit.json');
  writeFileSync(
    audit,
    JSON.stringify({ ...report, command: 'audit', results: [], findings: [], failOn: 'high', objectsRead: 0, verdict: 'pass' }),
  );
  t.throws(() => reportRenderCommand(audit, ['md']), { message: /its verdict is pass but its rows give inconclusive/ });
});
