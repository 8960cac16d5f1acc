import t from 'tap';
import type { CheckResult, Verdict } from '../../probes/base/model.js';
import { diffIsEmpty, diffRuns, keyedVerdicts, type RunVerdicts, renderDiffText } from './diff.js';

const result = (id: string, verdict: Verdict, extra: Partial<CheckResult> = {}): CheckResult => ({
  id,
  kind: 'tcp',
  expect: 'blocked',
  target: `${id}:443/tcp`,
  verdict,
  reason: verdict,
  observation: { outcome: 'timeout', class: 'blocked', durationMs: 1, detail: '' },
  ...extra,
});

const run = (startedAt: string, results: CheckResult[]): RunVerdicts => ({
  startedAt,
  verdict: 'pass',
  checks: keyedVerdicts(results),
});

t.test('keys: pod names never enter them; nodes do only when a check ran on several', async (t) => {
  const one = keyedVerdicts([result('tcp/a', 'pass', { pod: 'egress-verify-r1-0', node: 'n1', workload: 'deployment/x' })]);
  t.equal(one[0]?.key, 'deployment/x tcp/a');
  const perNode = keyedVerdicts([
    result('tcp/a', 'pass', { pod: 'p0', node: 'n1' }),
    result('tcp/a', 'fail', { pod: 'p1', node: 'n2' }),
    result('tcp/a', 'fail', { pod: 'p2', node: 'n2' }),
  ]);
  t.same(
    perNode.map((k) => k.key),
    ['tcp/a @n1', 'tcp/a @n2', 'tcp/a @n2#2'],
  );
});

t.test('a run of pods renamed between runs compares equal', async (t) => {
  const a = run('t1', [result('tcp/a', 'pass', { pod: 'egress-verify-aaa-0' })]);
  const b = run('t2', [result('tcp/a', 'pass', { pod: 'egress-verify-bbb-0' })]);
  t.ok(diffIsEmpty(diffRuns(a, b)));
  t.match(renderDiffText(diffRuns(a, b)), /no check changed its verdict/);
});

t.test('new bypasses, fixed, became inconclusive, and the rest', async (t) => {
  const before = run('t1', [
    result('tcp/opened', 'pass'),
    result('tcp/closed', 'fail'),
    result('tcp/lost', 'pass'),
    result('tcp/lost-fail', 'fail'),
    result('tcp/recovered', 'inconclusive'),
    result('tcp/removed', 'pass'),
    result('tcp/still-bad', 'fail'),
  ]);
  const after = run('t2', [
    result('tcp/opened', 'fail'),
    result('tcp/closed', 'pass'),
    result('tcp/lost', 'inconclusive'),
    result('tcp/lost-fail', 'error'),
    result('tcp/recovered', 'pass'),
    result('tcp/added-bad', 'fail'),
    result('tcp/still-bad', 'fail'),
  ]);
  const d = diffRuns(before, after);
  t.same(
    d.newBypasses.map((c) => [c.id, c.from, c.to]),
    [
      ['tcp/opened', 'pass', 'fail'],
      ['tcp/added-bad', undefined, 'fail'],
    ],
  );
  t.same(
    d.fixed.map((c) => c.id),
    ['tcp/closed'],
  );
  t.same(
    d.becameInconclusive.map((c) => c.id),
    ['tcp/lost', 'tcp/lost-fail'],
  );
  t.same(
    d.other.map((c) => [c.id, c.from, c.to]),
    [
      ['tcp/recovered', 'inconclusive', 'pass'],
      ['tcp/removed', 'pass', undefined],
    ],
  );
  const text = renderDiffText(d);
  t.match(text, /new bypasses \(2\):\n {2}tcp\/opened {2}pass -> fail/);
  t.match(text, /tcp\/added-bad {2}absent -> fail/);
  t.notMatch(text, /still-bad/, 'an unchanged bypass is not a change');
});
