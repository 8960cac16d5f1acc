import t from 'tap';
import { toolVersion } from '../src/base/package-root.js';
import type { CheckResult, Observation, ProbePlan } from './base/model.js';
import { judge } from './runner.js';
import {
  isCompanionDone,
  renderCompanionDone,
  renderJsonLines,
  renderTerminationMessage,
  resultsFromLog,
  resultsFromTerminationMessage,
  TERMINATION_MESSAGE_LIMIT,
  type ToolId,
} from './wire.js';

const companion = { url: 'http://10.77.3.2:8080' };
const plan: ProbePlan = {
  version: 1,
  checks: [
    { id: 'a', kind: 'tcp', expect: 'blocked', host: '203.0.113.10', port: 443, deadlineMs: 1000, control: 'c' },
    { id: 'b', kind: 'tcp', expect: 'blocked', host: '203.0.113.10', port: 80, deadlineMs: 1000, control: 'c' },
    { id: 'c', kind: 'proxy-connect', proof: 'banner', expect: 'reachable', host: '203.0.113.10', port: 443, deadlineMs: 1000, companion },
  ],
};
const where = { pod: 'egress-verify-r1-0', node: 'node-a' };
const tool: ToolId = { name: 'egress-verify', version: toolVersion };

const timeout: Observation = { outcome: 'timeout', class: 'blocked', durationMs: 1000, detail: 'no handshake' };
const connected: Observation = { outcome: 'connected', class: 'reached', durationMs: 5, detail: 'handshake' };
const steady = new Map([
  ['a', timeout],
  ['b', timeout],
  ['c', connected],
]);
/** What an honest probe prints for these observations. */
const honest = (observations: ReadonlyMap<string, Observation> = steady): CheckResult[] => judge(plan, observations);

/** A result line as a probe prints it, with whatever verdict the probe claims. */
const line = (id: string, observation: Observation, verdict = 'pass'): string =>
  JSON.stringify({ type: 'result', id, kind: 'tcp', expect: 'blocked', target: 't', verdict, reason: 'r', observation });
const summary = (version = toolVersion): string => JSON.stringify({ type: 'summary', tool: { ...tool, version }, verdict: 'pass' });
const verdicts = (results: readonly CheckResult[]): string[] => results.map((r) => `${r.id}:${r.verdict}`);

t.test('the writer and the reader round-trip: verdicts as judge gives them, stamped with pod and node', async (t) => {
  const log = renderJsonLines({ tool, verdict: 'pass', results: honest() });
  const results = resultsFromLog(log, plan, where);
  t.same(verdicts(results), ['a:pass', 'b:pass', 'c:pass']);
  t.match(results[0], { pod: where.pod, node: 'node-a', observation: { outcome: 'timeout' } });
  t.match(JSON.parse(log.trimEnd().split('\n').at(-1) ?? ''), { type: 'summary', tool, verdict: 'pass' });
});

t.test('a companion-done line, once and before the summary, is read past; it carries no result', async (t) => {
  const log = renderJsonLines({ tool, verdict: 'pass', results: honest() });
  const done = renderCompanionDone();
  t.ok(isCompanionDone(done.trimEnd()));
  t.notOk(isCompanionDone('{"type":"companion-done"'), 'a cut line');
  t.notOk(isCompanionDone(log.split('\n')[0] ?? ''), 'a result line');
  t.same(verdicts(resultsFromLog(`${done}${log}`, plan, where)), ['a:pass', 'b:pass', 'c:pass']);
  const all = (text: string): string[] => verdicts(resultsFromLog(text, plan, where));
  const errors = ['a:error', 'b:error', 'c:error'];
  t.same(all(`${done}${done}${log}`), errors, 'twice');
  t.same(all(`${log}${done}`), errors, 'after the summary');
  t.same(all(`${done}${summary()}`), errors, 'no result stands for the checks');
  t.same(all(`{"type":"companion-done","verdict":"pass"}\n${log}`), errors, 'with anything more');
});

t.test('the controller judges observations itself: a claimed pass over a connection is a fail', async (t) => {
  // issue 10: `pass` with observed `connected` was accepted as a pass.
  const log = [line('a', connected, 'pass'), line('b', timeout), line('c', connected), summary()].join('\n');
  t.same(verdicts(resultsFromLog(log, plan, where)), ['a:fail', 'b:pass', 'c:pass']);
  // A claimed pass whose control did not reach the target proves nothing.
  const noControl = [line('a', timeout), line('b', timeout), line('c', { ...timeout, outcome: 'proxy-unreachable' }), summary()];
  t.same(verdicts(resultsFromLog(noControl.join('\n'), plan, where)), ['a:inconclusive', 'b:inconclusive', 'c:fail']);
});

t.test('duplicate and unknown ids are errors, never last-wins', async (t) => {
  // issue 10: fail then pass for one id resolved to pass.
  const twice = [line('a', connected, 'fail'), line('a', timeout, 'pass'), line('b', timeout), line('c', connected), summary()];
  const results = resultsFromLog(twice.join('\n'), plan, where);
  t.same(verdicts(results), ['a:error', 'b:pass', 'c:pass']);
  t.match(results[0]?.reason, /more than one result for a/);
  // A duplicated control proves nothing for the checks that lean on it.
  const control = [line('a', timeout), line('b', timeout), line('c', connected), line('c', connected), summary()];
  t.same(verdicts(resultsFromLog(control.join('\n'), plan, where)), ['a:inconclusive', 'b:inconclusive', 'c:error']);
  const stranger = [line('a', timeout), line('b', timeout), line('c', connected), line('z', timeout), summary()];
  t.match(resultsFromLog(stranger.join('\n'), plan, where), [
    { verdict: 'error', reason: /not in the plan: z/ },
    { verdict: 'error' },
    { verdict: 'error' },
  ]);
});

t.test('a probe of another version is an error for every check', async (t) => {
  const log = renderJsonLines({ tool: { ...tool, version: '0.0.1' }, results: honest() });
  t.match(resultsFromLog(log, plan, where), [
    { verdict: 'error', reason: /probe version 0\.0\.1 differs from the controller's/ },
    { verdict: 'error' },
    { verdict: 'error' },
  ]);
  const message = renderTerminationMessage(honest(), '0.0.1');
  t.same(verdicts(resultsFromTerminationMessage(message, plan, where)), ['a:error', 'b:error', 'c:error']);
});

t.test('malformed, truncated or partial logs are errors for the affected checks, never passes', async (t) => {
  const all = (log: string): string[] => verdicts(resultsFromLog(log, plan, where));
  const errors = ['a:error', 'b:error', 'c:error'];
  t.match(resultsFromLog(`${line('a', timeout)}\nSegmentation fault\n`, plan, where), [{ verdict: 'error', reason: /line 2 .* not JSON/ }]);
  t.match(resultsFromLog(`${line('a', timeout)}\n${line('b', timeout)}`, plan, where), [{ verdict: 'error', reason: /no summary line/ }]);
  t.same(all(`${line('a', timeout)}\n${summary()}`), ['a:inconclusive', 'b:error', 'c:error'], 'missing results are errors');
  t.match(resultsFromLog('{"type":"result","id":"a","verdict":"pass"}\n', plan, where), [{ verdict: 'error', reason: /not a result/ }]);
  t.same(all(`${line('a', { ...timeout, class: 'maybe' } as unknown as Observation)}\n${summary()}`), errors, 'an unknown class');
  t.same(all(`${summary()}\n${line('a', timeout)}`), errors, 'a line after the summary');
  t.same(all(`${summary()}\n${summary()}`), errors, 'two summaries');
  t.same(all('{"type":"summary","verdict":"pass"}'), errors, 'a summary without the tool version');
  t.same(all(''), errors);
});

t.test('the termination message carries observations, within 4 KiB, and is re-judged', async (t) => {
  const message = renderTerminationMessage(honest());
  t.match(JSON.parse(message), { tool, cut: 0, observations: [['a', 'timeout', 'blocked', 1000], ['b'], ['c', 'connected', 'reached']] });
  const results = resultsFromTerminationMessage(message, plan, where);
  t.same(verdicts(results), ['a:pass', 'b:pass', 'c:pass']);
  t.match(results[0], { pod: where.pod, observation: { detail: /termination message \(log unavailable\)/ } });
  // A finding travels: a companion that does not intercept TLS still fails from the fallback.
  const finding = { code: 'tls-not-intercepted', failing: true, message: 'issuer is not the companion CA' } as const;
  const intercepted = honest(new Map([...steady, ['c', { ...connected, finding }]]));
  t.same(verdicts(resultsFromTerminationMessage(renderTerminationMessage(intercepted), plan, where)), ['a:pass', 'b:pass', 'c:fail']);
});

t.test('a termination message without observations is an error for every check, never a pass', async (t) => {
  // issue 10: {"notPassed":[],"truncated":false} counted every check as passed.
  for (const message of ['{"notPassed":[],"truncated":false}', '{"verdict":"pass"}', 'Error: boom', '']) {
    t.same(verdicts(resultsFromTerminationMessage(message, plan, where)), ['a:error', 'b:error', 'c:error'], message);
  }
  const empty = JSON.stringify({ tool, observations: [], cut: 0 });
  t.match(resultsFromTerminationMessage(empty, plan, where), [{ verdict: 'error', reason: /no result for a/ }]);
});

t.test('observations cut for size are errors; bypass evidence is kept first', async (t) => {
  const many: ProbePlan = {
    version: 1,
    checks: [
      ...Array.from({ length: 200 }, (_, i) => ({
        id: `tcp/a-long-check-name-to-fill-the-message-${i}`,
        kind: 'tcp' as const,
        expect: 'blocked' as const,
        host: '203.0.113.10',
        port: 1000 + i,
        deadlineMs: 1000,
      })),
      { id: 'tcp/bypass', kind: 'tcp', expect: 'blocked', host: '203.0.113.10', port: 443, deadlineMs: 1000 },
    ],
  };
  const observed = new Map(many.checks.map((c) => [c.id, c.id === 'tcp/bypass' ? connected : timeout]));
  const message = renderTerminationMessage(judge(many, observed));
  t.ok(Buffer.byteLength(message) <= TERMINATION_MESSAGE_LIMIT, `${Buffer.byteLength(message)} bytes`);
  const parsed = JSON.parse(message) as { cut: number; observations: unknown[] };
  t.ok(parsed.cut > 0 && parsed.observations.length + parsed.cut === many.checks.length);
  const results = resultsFromTerminationMessage(message, many, where);
  t.match(
    results.find((r) => r.id === 'tcp/bypass'),
    { verdict: 'fail' },
  );
  t.ok(results.some((r) => r.verdict === 'error' && /cut to fit 4096 bytes/.test(r.reason)));
  t.notOk(
    results.some((r) => r.verdict === 'pass'),
    'nothing passes without its control',
  );
});
