import { type AddressInfo, createServer } from 'node:net';
import t from 'tap';
import type { Check, Observation, ProbePlan } from './base/model.js';
import { judge, observeAllowing, runPlan } from './runner.js';

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
  t.match(judge(direct, blocked, new Map([['md', o({ class: 'reached', outcome: 'connected' })]]))[0], {
    verdict: 'pass',
    controlSource: 'control-pod',
  });
  t.match(judge(direct, blocked, new Map([['md', o({ class: 'blocked', outcome: 'timeout' })]]))[0], {
    verdict: 'inconclusive',
    controlSource: 'none',
  });
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

t.test('a control pod that reached the same endpoint proves the block, whatever the companion did', async (t) => {
  const udpPlan: ProbePlan = {
    version: 1,
    checks: [...plan.checks, { id: 'udp', kind: 'udp', expect: 'blocked', host: '203.0.113.10', port: 443, deadlineMs: 1000 }],
  };
  const observed = new Map([
    ['ctl', o({ class: 'blocked', outcome: 'proxy-refused' })],
    ['tcp', o({ class: 'blocked', outcome: 'refused' })],
    ['udp', o({ class: 'blocked', outcome: 'timeout' })],
  ]);
  const direct = new Map([
    ['tcp', o({ class: 'reached', outcome: 'connected' })],
    ['udp', o({ class: 'reached', outcome: 'answered' })],
  ]);
  const results = judge(udpPlan, observed, direct);
  t.match(results[1], { verdict: 'pass', controlSource: 'control-pod', reason: /control pod reached the same address/ });
  t.match(results[2], { verdict: 'pass', controlSource: 'control-pod' }, 'UDP gets a real control');
  t.match(results[0], { verdict: 'fail' }, "the control pod does not mend the companion's own check");
  t.notOk('controlSource' in (results[0] ?? {}), 'reachable checks have no control source');
});

t.test('what the control pod did not reach falls back to the companion control, never to a pass', async (t) => {
  const observed = new Map([
    ['ctl', o({ class: 'reached', outcome: 'http-response' })],
    ['tcp', o({ class: 'blocked', outcome: 'timeout' })],
  ]);
  const blocked = new Map([['tcp', o({ class: 'blocked', outcome: 'timeout' })]]);
  t.match(judge(plan, observed, blocked)[1], { verdict: 'pass', controlSource: 'companion' });
  const noCompanion = new Map([...observed, ['ctl', o({ class: 'blocked', outcome: 'proxy-refused' })]]);
  t.match(judge(plan, noCompanion, blocked)[1], { verdict: 'inconclusive', controlSource: 'none', reason: /would prove the block/ });
});

t.test('a bypass stays a bypass with a control pod', async (t) => {
  const observed = new Map([
    ['ctl', o({ class: 'reached', outcome: 'http-response' })],
    ['tcp', o({ class: 'reached', outcome: 'connected' })],
  ]);
  t.match(judge(plan, observed, new Map([['tcp', o({ class: 'reached', outcome: 'connected' })]]))[1], { verdict: 'fail' });
});

t.test('a control-only check the companion refused is moot once the control pod proved all it stands for', async (t) => {
  // Stock Squid refuses CONNECT to port 53: the resolver's tunnel control stays unproven.
  const resolverPlan: ProbePlan = {
    version: 1,
    checks: [
      {
        id: 'ctl53',
        kind: 'proxy-connect',
        expect: 'reachable',
        purpose: 'control',
        host: '198.51.100.53',
        port: 53,
        companion,
        proof: 'dns',
        queryName: 'a.test',
        deadlineMs: 1000,
      },
      {
        id: 'udp53',
        kind: 'dns',
        mode: 'direct',
        expect: 'blocked',
        server: '198.51.100.53',
        transport: 'udp',
        port: 53,
        name: 'a.test',
        control: 'ctl53',
        deadlineMs: 1000,
      },
      {
        id: 'tcp53',
        kind: 'dns',
        mode: 'direct',
        expect: 'blocked',
        server: '198.51.100.53',
        transport: 'tcp',
        port: 53,
        name: 'a.test',
        control: 'ctl53',
        deadlineMs: 1000,
      },
    ],
  };
  const seen = new Map([
    ['ctl53', o({ class: 'blocked', outcome: 'proxy-refused' })],
    ['udp53', o({ class: 'blocked', outcome: 'timeout' })],
    ['tcp53', o({ class: 'blocked', outcome: 'timeout' })],
  ]);
  const answered = o({ class: 'reached', outcome: 'answered' });
  const without = judge(resolverPlan, seen);
  t.same(
    without.map((r) => r.verdict),
    ['inconclusive', 'inconclusive', 'inconclusive'],
    'no control pod: nothing proves the resolver up',
  );
  const partly = judge(resolverPlan, seen, new Map([['udp53', answered]]));
  t.same(
    partly.map((r) => r.verdict),
    ['inconclusive', 'pass', 'inconclusive'],
    'one dependent still leans on the refused control',
  );
  const all = judge(
    resolverPlan,
    seen,
    new Map([
      ['udp53', answered],
      ['tcp53', answered],
    ]),
  );
  t.same(
    all.map((r) => r.verdict),
    ['pass', 'pass', 'pass'],
  );
  t.match(all[0]?.reason, /^not needed: the control pod proved every check it stands for/);
});

t.test('a companion that cannot be reached stays a failure, whatever the control pod proved', async (t) => {
  const down = new Map([
    ['ctl', o({ class: 'blocked', outcome: 'proxy-unreachable' })],
    ['tcp', o({ class: 'blocked', outcome: 'timeout' })],
  ]);
  const results = judge(plan, down, new Map([['tcp', o({ class: 'reached', outcome: 'connected' })]]));
  t.match(results[0], { verdict: 'fail' });
  t.match(results[1], { verdict: 'pass', controlSource: 'control-pod' });
});

t.test('IPv6: a pod without an IPv6 address skips what only IPv6 can send, and says so; never a pass', async (t) => {
  // A listener on ::1 answers: a dialled check would connect, and be a bypass.
  const server = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;
  const v6: ProbePlan = {
    version: 1,
    checks: [
      {
        id: 'ctl6',
        kind: 'proxy-connect',
        expect: 'reachable',
        purpose: 'control',
        host: '::1',
        port,
        // Closed, on loopback: the control's dial goes nowhere else.
        companion: { url: 'http://127.0.0.1:1' },
        proof: 'banner',
        deadlineMs: 1000,
      },
      { id: 'tcp6', kind: 'tcp', expect: 'blocked', host: '::1', port, control: 'ctl6', deadlineMs: 1000 },
    ],
  };
  const skipped = await runPlan(v6, []);
  t.match(skipped, [
    { id: 'ctl6', verdict: 'skip', observation: { outcome: 'no-ipv6' } },
    { id: 'tcp6', verdict: 'skip', observation: { outcome: 'no-ipv6', durationMs: 0 }, reason: /no IPv6 address/ },
  ]);
  const dialled = await runPlan(v6, ['2001:db8::7'], undefined, { ask: async () => true });
  t.match(dialled[1], { id: 'tcp6', verdict: 'fail', observation: { outcome: 'connected' } }, 'with an address the pod dials it');
});

t.test('IPv6: a skip the probe claims for a check that needs no IPv6 is an error', async (t) => {
  const results = judge(
    plan,
    new Map([
      ['ctl', o({ class: 'reached', outcome: 'http-response' })],
      ['tcp', o({ class: 'indeterminate', outcome: 'no-ipv6' })],
    ]),
  );
  t.match(results[1], { verdict: 'error', observation: { outcome: 'probe-error', detail: /does not need IPv6/ } });
});

t.test('a must-reach check that did not reach is dialled once more; a must-fail check never is', async (t) => {
  const server = createServer((s) => s.destroy());
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  await new Promise((resolve) => server.close(resolve));
  const check = (expect: 'reachable' | 'blocked'): Check => ({ id: 'c', kind: 'tcp', expect, host: '127.0.0.1', port, deadlineMs: 400 });
  // Nothing listens for the first dial; the port opens before the second, as a resynced rule would.
  setTimeout(() => server.listen(port, '127.0.0.1'), 700);
  t.teardown(() => server.close());
  const late = await observeAllowing(check('reachable'));
  t.match(late, { class: 'reached', facts: { firstDial: 'refused' } });
  t.ok(late.durationMs >= 1000, `the second dial came after the pause (${late.durationMs} ms in all)`);
  const bypass = await observeAllowing(check('blocked'));
  t.equal(bypass.class, 'reached', 'a must-fail reach is taken as it is');
  t.notOk(bypass.facts?.firstDial);
  await new Promise((resolve) => server.close(resolve));
  const blocked = await observeAllowing(check('blocked'));
  t.match(blocked, { class: 'blocked', outcome: 'refused' });
  t.ok(blocked.durationMs < 1000, 'a must-fail block is not dialled again');
  const broken = await observeAllowing(check('reachable'));
  t.match(broken, { class: 'blocked', facts: { firstDial: 'refused' } }, 'still closed on the second dial: the second stands');
});

t.test('the path watch: a block seen while the allowed path was silent is dialled again, or proves nothing', async (t) => {
  const server = createServer((s) => s.destroy());
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  await new Promise((resolve) => server.close(resolve));
  t.teardown(() => server.close());
  // The pod must resolve a name (from /etc/hosts: no packet leaves), so its resolver is watched.
  const watched = (deadlineMs = 400): ProbePlan => ({
    version: 1,
    checks: [
      { id: 'dns', kind: 'dns', mode: 'resolve', expect: 'reachable', name: 'localhost', deadlineMs: 1000 },
      { id: 'tcp', kind: 'tcp', expect: 'blocked', host: '127.0.0.1', port, controlFrom: 'direct', deadlineMs },
    ],
  });
  // The path wait saw the resolver answer; the watch finds it silent from the start (the first
  // dial) until `ms`, then answering.
  const answered = new Set(["the pod's resolver for localhost"]);
  const silentUntil = (ms: number) => {
    const start = performance.now();
    return async (): Promise<boolean> => performance.now() - start > ms;
  };

  // The silence hid a path the policy leaves open: it is open on the second dial.
  setTimeout(() => server.listen(port, '127.0.0.1'), 300);
  const [, bypass] = await runPlan(watched(), [], undefined, { ask: silentUntil(700), answered });
  t.match(bypass, {
    verdict: 'fail',
    observation: { class: 'reached', facts: { firstDial: 'refused', pathSilent: "the pod's resolver for localhost" } },
  });
  await new Promise((resolve) => server.close(resolve));

  const [, held] = await runPlan(watched(), [], undefined, { ask: silentUntil(700), answered });
  t.match(
    held,
    { observation: { outcome: 'refused', facts: { firstDial: 'refused', pathSilent: "the pod's resolver for localhost" } } },
    'blocked again, with the path held',
  );
  t.not(held?.verdict, 'fail');

  // Silent at the first dial and after, answering once between: the second dial is no better.
  let asked = 0;
  const once = async (): Promise<boolean> => ++asked === 3;
  const [, unsteady] = await runPlan(watched(), [], undefined, { ask: once, answered });
  t.match(unsteady, {
    verdict: 'inconclusive',
    observation: { outcome: 'path-unsteady', class: 'indeterminate', facts: { dialOutcome: 'refused' } },
    reason: /went silent around the dial/,
  });
  t.match(unsteady?.observation.detail, /the pod's resolver for localhost went silent/);

  const [, steady] = await runPlan(watched(), [], undefined, { ask: async () => true, answered });
  t.match(steady, { observation: { outcome: 'refused' } });
  t.notOk(steady?.observation.facts?.firstDial, 'a steady path: one dial');
});

t.test('a sweep the path watch doubted is inconclusive as a whole, never passed port by port', async (t) => {
  const sweepPlan: ProbePlan = {
    version: 1,
    checks: [
      { id: 'ctl', kind: 'proxy-https', expect: 'reachable', url: 'https://203.0.113.10/', companion, deadlineMs: 1000 },
      {
        id: 'sweep',
        kind: 'tcp-sweep',
        expect: 'blocked',
        host: '203.0.113.10',
        ports: '1-3',
        companion,
        portDeadlineMs: 1000,
        concurrency: 8,
        companionConcurrency: 2,
        deadlineMs: 3000,
        control: 'ctl',
      },
    ],
  };
  // Every port timed out, with the host proven through the companion: a pass, when steady.
  const facts = { 'direct.timeout': '1-3' };
  const steady = o({ class: 'blocked', outcome: 'timeout', facts });
  const doubted = o({ class: 'indeterminate', outcome: 'path-unsteady', facts: { ...facts, dialOutcome: 'timeout' } });
  const ctl = o({ class: 'reached', outcome: 'http-response' });
  t.match(
    judge(
      sweepPlan,
      new Map([
        ['ctl', ctl],
        ['sweep', steady],
      ]),
    )[1],
    { verdict: 'pass' },
  );
  t.match(
    judge(
      sweepPlan,
      new Map([
        ['ctl', ctl],
        ['sweep', doubted],
      ]),
    )[1],
    {
      verdict: 'inconclusive',
      reason: /went silent around the dial/,
    },
  );
});
