import t from 'tap';
import type { CheckResult, Verdict } from '../../probes/base/model.js';
import type { WorkloadTarget } from '../controller/target.js';
import { networkTwin } from '../controller/twin.js';
import { diffRuns, runVerdicts } from '../report/diff.js';
import { buildReport, type RunReport } from '../report/report.js';
import {
  appendHistory,
  entryVerdicts,
  eventNote,
  HISTORY_BUDGET,
  type HistoryEntry,
  historyEntry,
  historyName,
  microTime,
  NOTE_LIMIT,
  parseHistory,
  policyReport,
  workloadEvent,
} from './history.js';

const target = (name: string): WorkloadTarget & { ref: NonNullable<WorkloadTarget['ref']> } => ({
  namespace: 'production-agents',
  description: `deployment/${name}`,
  labels: { role: 'agent-workload' },
  proxyEnv: [],
  twin: networkTwin({}),
  liveSelector: 'role=agent-workload',
  ref: { apiVersion: 'apps/v1', kind: 'Deployment', name, uid: `uid-${name}` },
});

const result = (id: string, verdict: Verdict, workload = 'deployment/data-processor'): CheckResult => ({
  id,
  kind: 'tcp',
  expect: 'blocked',
  target: '203.0.113.10:443/tcp',
  verdict,
  reason: `${id} ${verdict}`,
  observation: { outcome: 'connected', class: 'reached', durationMs: 3, detail: '' },
  pod: 'egress-verify-r1-0',
  workload,
});

const report = (results: CheckResult[], startedAt = '2026-11-27T01:00:00.000Z'): RunReport => ({
  ...buildReport('run', results, new Date(startedAt), new Date(startedAt)),
  subject: { runId: 'r1', namespace: 'production-agents' },
});

t.test('a history per workload set, named so kubectl users find it', async (t) => {
  t.equal(historyName([target('data-processor')]), 'egress-verify-deployment-data-processor');
  const two = historyName([target('a'), target('b')]);
  t.match(two, /^egress-verify-[0-9a-f]{12}$/);
  t.equal(historyName([target('b'), target('a')]), two, 'order does not matter');
  t.not(historyName([{ description: 'selector role=x' }]), historyName([{ description: 'selector role=y' }]));
});

t.test('the history keeps the last N runs, newest last, and survives hand edits', async (t) => {
  let entries = parseHistory(undefined);
  for (let i = 0; i < 5; i++)
    entries = appendHistory(entries, historyEntry(report([result('tcp/a', 'pass')], `2026-11-27T0${i}:00:00.000Z`)), 3);
  t.same(
    entries.map((e) => e.startedAt.slice(11, 13)),
    ['02', '03', '04'],
  );
  t.same(parseHistory(JSON.stringify(entries)), entries);
  t.same(parseHistory('not json'), []);
  t.same(parseHistory('[{"nope":1}]'), []);
});

t.test('the history stays inside a ConfigMap however many checks a run has', async (t) => {
  const big = report(Array.from({ length: 3000 }, (_, i) => result(`tcp/check-with-a-long-name-${i}`, 'pass')));
  let entries: HistoryEntry[] = [];
  for (let i = 0; i < 10; i++) entries = appendHistory(entries, historyEntry(big), 10);
  t.ok(JSON.stringify(entries).length <= HISTORY_BUDGET, 'within budget');
  t.ok(entries.length >= 1 && entries.length < 10, `oldest dropped first (${entries.length} kept)`);
});

t.test('a history entry compares like the report it came from', async (t) => {
  const before = report([result('tcp/a', 'pass'), result('tcp/b', 'fail')]);
  const after = report([result('tcp/a', 'fail'), result('tcp/b', 'pass')]);
  const fromEntry = diffRuns(entryVerdicts(historyEntry(before)), runVerdicts(after));
  const fromReport = diffRuns(runVerdicts(before), runVerdicts(after));
  t.same(fromEntry, fromReport);
});

t.test('Events: Normal on pass; Warning naming the bypasses and what is new', async (t) => {
  const now = new Date('2026-11-27T01:02:03.456Z');
  const ok = workloadEvent(target('data-processor'), report([result('tcp/a', 'pass')]), undefined, undefined, 'pod-x', now);
  t.match(ok, { type: 'Normal', reason: 'EgressVerified', eventTime: '2026-11-27T01:02:03.456000Z' });
  t.match(ok.regarding, { kind: 'Deployment', name: 'data-processor', namespace: 'production-agents', uid: 'uid-data-processor' });
  const before = report([result('tcp/a', 'pass'), result('curl/b', 'pass')]);
  const after = report([result('tcp/a', 'fail'), result('curl/b', 'inconclusive')]);
  const changes = diffRuns(runVerdicts(before), runVerdicts(after));
  const bad = workloadEvent(target('data-processor'), after, changes, 'c'.repeat(64), 'pod-x', now);
  t.match(bad, { type: 'Warning', reason: 'EgressBypass' });
  t.match(bad.note, /FAIL, 0\/2 passed\. Bypasses: deployment\/data-processor tcp\/a\. Inconclusive: deployment\/data-processor curl\/b\./);
  t.match(bad.note, /New since last run: deployment\/data-processor tcp\/a\. Evidence chain c{64}\./);
});

t.test('with several workloads, each Event speaks only for its own', async (t) => {
  const r = report([result('tcp/a', 'pass', 'deployment/good'), result('tcp/a', 'fail', 'deployment/bad')]);
  const now = new Date();
  t.match(workloadEvent(target('good'), r, undefined, undefined, 'i', now), { type: 'Normal', note: /PASS, 1\/1/ });
  t.match(workloadEvent(target('bad'), r, undefined, undefined, 'i', now), { type: 'Warning', note: /Bypasses: deployment\/bad tcp\/a/ });
});

t.test('an Event note never exceeds what the API accepts', async (t) => {
  const many = report(Array.from({ length: 200 }, (_, i) => result(`tcp/some-long-check-name-${i}`, 'fail')));
  const note = eventNote(many, runVerdicts(many).checks);
  t.equal(note.length, NOTE_LIMIT);
  t.ok(note.endsWith('...'));
});

t.test('MicroTime has exactly six fractional digits', async (t) => {
  t.equal(microTime(new Date('2026-01-02T03:04:05.006Z')), '2026-01-02T03:04:05.006000Z');
});

t.test('PolicyReport: one result per check, inconclusive is a warn, never a pass', async (t) => {
  const r = report([result('tcp/a', 'pass'), result('tcp/b', 'fail'), result('tcp/c', 'inconclusive'), result('tcp/d', 'error')]);
  const pr = policyReport('egress-verify-deployment-data-processor', [target('data-processor')], r, new Date(0)) as {
    summary: Record<string, number>;
    scope: { kind: string };
    results: { rule: string; result: string; resources: { name: string }[]; properties: Record<string, string> }[];
  };
  t.same(pr.summary, { pass: 1, fail: 1, warn: 1, error: 1, skip: 0 });
  t.equal(pr.scope.kind, 'Deployment');
  t.same(
    pr.results.map((x) => [x.rule, x.result]),
    [
      ['tcp/a', 'pass'],
      ['tcp/b', 'fail'],
      ['tcp/c', 'warn'],
      ['tcp/d', 'error'],
    ],
  );
  t.equal(pr.results[1]?.resources[0]?.name, 'data-processor');
  t.equal(pr.results[1]?.properties.observed, 'connected');
  t.ok(
    Object.values(pr.results[0]?.properties ?? {}).every((v) => typeof v === 'string'),
    'properties are strings, as the CRD requires',
  );
});
