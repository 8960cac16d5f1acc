import t from 'tap';
import type { Observation, ProbePlan } from './model.js';
import { judge } from './runner.js';

const companion = { url: 'http://egress-guardian-svc:8080' };
const plan: ProbePlan = {
  version: 1,
  checks: [
    { id: 'ctl', kind: 'proxy-https', expect: 'reachable', url: 'https://203.0.113.10/', companion, deadlineMs: 1000 },
    { id: 'tcp', kind: 'tcp', expect: 'blocked', host: '203.0.113.10', port: 443, control: 'ctl', deadlineMs: 1000 },
  ],
};
const o = (partial: Partial<Observation> & Pick<Observation, 'class' | 'outcome'>): Observation => ({
  durationMs: 5,
  detail: 'd',
  ...partial,
});

t.test('a control proves reachability even when its own TLS finding fails it', async (t) => {
  const results = judge(
    plan,
    new Map([
      [
        'ctl',
        o({
          class: 'reached',
          outcome: 'http-response',
          finding: { code: 'tls-not-intercepted', failing: true, message: 'not intercepted' },
        }),
      ],
      ['tcp', o({ class: 'blocked', outcome: 'timeout' })],
    ]),
  );
  t.match(results[0], { verdict: 'fail', finding: { code: 'tls-not-intercepted' }, reason: /not intercepted/ });
  t.match(results[1], { verdict: 'pass', control: 'ctl' });
});

t.test('a control that did not reach its target leaves the check inconclusive', async (t) => {
  const results = judge(
    plan,
    new Map([
      ['ctl', o({ class: 'indeterminate', outcome: 'upstream-error' })],
      ['tcp', o({ class: 'blocked', outcome: 'timeout' })],
    ]),
  );
  t.match(results[0], { verdict: 'inconclusive' });
  t.match(results[1], { verdict: 'inconclusive' });
});

t.test('a check without an observation is an error, not a pass', async (t) => {
  const results = judge(plan, new Map([['ctl', o({ class: 'reached', outcome: 'http-response' })]]));
  t.match(results[1], { verdict: 'error', observation: { outcome: 'probe-error' } });
});

t.test('a target only a direct observer can prove waits for one, and its dial decides', async (t) => {
  const direct: ProbePlan = {
    version: 1,
    checks: [{ id: 'md', kind: 'tcp', expect: 'blocked', host: '169.254.169.254', port: 80, controlFrom: 'direct', deadlineMs: 1000 }],
  };
  const blocked = new Map([['md', o({ class: 'blocked', outcome: 'timeout' })]]);
  t.match(judge(direct, blocked)[0], { verdict: 'inconclusive', reason: /control pod/ });
  t.match(judge(direct, blocked, new Map([['md', o({ class: 'reached', outcome: 'connected' })]]))[0], { verdict: 'pass' });
  t.match(judge(direct, blocked, new Map([['md', o({ class: 'blocked', outcome: 'timeout' })]]))[0], { verdict: 'inconclusive' });
});

t.test('issue 10: a silent UDP target passes only when declared a responder', async (t) => {
  const udp = (responder: boolean): ProbePlan => ({
    version: 1,
    checks: [
      plan.checks[0] as ProbePlan['checks'][number],
      {
        id: 'u',
        kind: 'udp',
        expect: 'blocked',
        host: '203.0.113.10',
        port: 443,
        control: 'ctl',
        deadlineMs: 1000,
        ...(responder && { responder }),
      },
    ],
  });
  const seen = new Map([
    ['ctl', o({ class: 'reached', outcome: 'http-response' })],
    ['u', o({ class: 'blocked', outcome: 'timeout' })],
  ]);
  t.match(judge(udp(false), seen)[1], { verdict: 'inconclusive', reason: /UDP/ });
  t.match(judge(udp(true), seen)[1], { verdict: 'pass' });
});
