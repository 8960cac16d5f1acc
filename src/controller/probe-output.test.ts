import t from 'tap';
import type { ProbePlan } from '../../probes/model.js';
import { resultsFromLog } from './probe-output.js';

const plan: ProbePlan = {
  version: 1,
  checks: [
    { id: 'a', kind: 'tcp', expect: 'blocked', host: '203.0.113.10', port: 443, deadlineMs: 1000 },
    { id: 'b', kind: 'tcp', expect: 'blocked', host: '203.0.113.10', port: 80, deadlineMs: 1000 },
  ],
};
const result = (id: string) =>
  JSON.stringify({
    type: 'result',
    id,
    kind: 'tcp',
    expect: 'blocked',
    target: 't',
    verdict: 'pass',
    reason: 'r',
    observation: { outcome: 'timeout', class: 'blocked', durationMs: 5, detail: 'd' },
  });
const summary = JSON.stringify({ type: 'summary', verdict: 'pass' });
const where = { pod: 'egress-verify-r1-0', node: 'node-a' };

t.test('a complete log: every result, stamped with pod and node', async (t) => {
  const results = resultsFromLog([result('a'), result('b'), summary].join('\n'), plan, where);
  t.match(results, [
    { id: 'a', verdict: 'pass', pod: where.pod, node: 'node-a' },
    { id: 'b', verdict: 'pass' },
  ]);
});

t.test('malformed, truncated or partial logs are errors for the affected checks, never passes', async (t) => {
  t.match(resultsFromLog(`${result('a')}\nSegmentation fault\n`, plan, where), [
    { verdict: 'error', reason: /line 2 .* not JSON/ },
    { verdict: 'error' },
  ]);
  t.match(resultsFromLog(`${result('a')}\n${result('b')}`, plan, where), [
    { verdict: 'error', reason: /no summary line/ },
    { verdict: 'error' },
  ]);
  t.match(resultsFromLog(`${result('a')}\n${summary}`, plan, where), [
    { verdict: 'pass' },
    { verdict: 'error', reason: /no result for b/ },
  ]);
  t.match(resultsFromLog('{"type":"result","id":"a"}\n', plan, where), [
    { verdict: 'error', reason: /not a result/ },
    { verdict: 'error' },
  ]);
  t.match(resultsFromLog('', plan, where), [{ verdict: 'error' }, { verdict: 'error' }]);
});
