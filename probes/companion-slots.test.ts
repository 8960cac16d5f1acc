import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import t from 'tap';
import type { Check, ProbePlan, ProxyConnectCheck, TcpCheck, TcpSweepCheck } from './base/model.js';
import { opensTunnels, planDurationMs, Slots, throughCompanion, withCompanionSlots } from './companion-slots.js';
import { runPlan } from './runner.js';

const tcp = (id: string, deadlineMs: number): TcpCheck => ({ id, kind: 'tcp', expect: 'blocked', host: '127.0.0.1', port: 9, deadlineMs });
const tunnel = (id: string, deadlineMs: number, url = 'http://127.0.0.1:1'): ProxyConnectCheck => ({
  id,
  kind: 'proxy-connect',
  expect: 'reachable',
  host: '127.0.0.1',
  port: 443,
  deadlineMs,
  companion: { url },
  proof: 'banner',
});
const sweep: TcpSweepCheck = {
  id: 'sweep',
  kind: 'tcp-sweep',
  expect: 'blocked',
  host: '127.0.0.1',
  ports: '1-10',
  companion: { url: 'http://127.0.0.1:1' },
  portDeadlineMs: 1000,
  concurrency: 1024,
  companionConcurrency: 8,
  deadlineMs: 4000,
};
const plan = (checks: Check[], companionSlots?: number): ProbePlan => ({
  version: 1,
  checks,
  ...(companionSlots === undefined ? {} : { companionSlots }),
});

t.test('Slots: never more at once than its size, served in arrival order', async (t) => {
  const slots = new Slots(2);
  let inFlight = 0;
  let peak = 0;
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: 7 }, (_, i) =>
      slots.run(async () => {
        order.push(i);
        peak = Math.max(peak, ++inFlight);
        await new Promise((r) => setTimeout(r, 10));
        inFlight--;
      }),
    ),
  );
  t.equal(peak, 2);
  t.same(order, [0, 1, 2, 3, 4, 5, 6]);
  // A failing job gives its slot back.
  await t.rejects(slots.run(() => Promise.reject(new Error('boom'))));
  t.equal(await slots.run(async () => 'still two slots'), 'still two slots');
  t.throws(() => new Slots(0), /at least 1/);
});

t.test('only the kinds that hold a tunnel take a slot', async (t) => {
  t.equal(throughCompanion(tunnel('a', 1000)), true);
  t.equal(throughCompanion(tcp('b', 1000)), false);
  // The sweep bounds its own tunnels with companionConcurrency.
  t.equal(throughCompanion(sweep), false);
  // The pod is done with the companion only once the sweep's tunnels are closed too.
  t.same([tunnel('a', 1000), tcp('b', 1000), sweep].map(opensTunnels), [true, false, true]);
});

t.test('planDurationMs: proxied checks queue over the slots, the rest run at once, sweeps after', async (t) => {
  const checks = [tcp('d', 3000), ...['a', 'b', 'c', 'e', 'f'].map((id) => tunnel(id, 1000))];
  // After them, a must-fail check the path watch doubted may wait 5 s for the path, be dialled
  // again (here 4 s) and wait three times for a sample of the path (2.6 s each): 16.8 s.
  const redial = 5000 + 4000 + 3 * 2600;
  // Unbounded: everything at once, each with its 1 s grace; a must-reach tunnel may be dialled
  // twice, a second apart (5 s), which outlasts the 4 s direct check.
  t.equal(planDurationMs(plan(checks)), 5000 + redial);
  // Two slots: five tunnels of 5 s worst case in three rounds (15 s).
  t.equal(planDurationMs(plan(checks, 2)), 15_000 + redial);
  t.equal(planDurationMs(plan(checks, 5)), 5000 + redial);
  // The sweep (4 s and grace) is the longest must-fail check to dial again.
  t.equal(planDurationMs(plan([...checks, sweep], 2)), 15_000 + 5000 + redial + 1000);
  t.equal(planDurationMs(plan([tcp('only', 500)], 1)), 1500 + 5000 + 1500 + 3 * 2600);
  t.equal(planDurationMs(plan([tunnel('a', 1000)])), 5000, 'nothing to dial again: no must-fail check');
});

t.test("withCompanionSlots: the plan's share, and sweeps' tunnels kept within it", async (t) => {
  const shared = withCompanionSlots(plan([tunnel('a', 1000), sweep]), 3);
  t.equal(shared.companionSlots, 3);
  t.match(
    shared.checks.find((c) => c.id === 'sweep'),
    { companionConcurrency: 3 },
  );
  t.match(withCompanionSlots(plan([sweep]), 50).checks[0], { companionConcurrency: 8 });
});

t.test('runPlan keeps to companionSlots against a real CONNECT proxy on loopback, and the wait does not eat deadlines', async (t) => {
  // CONNECTs the proxy is working on: counted from the request to the answer (a socket's close
  // reaches the server a moment after the client has moved on).
  let working = 0;
  let peak = 0;
  // Answers each CONNECT after 150 ms with a 200 and a banner "from the origin".
  const server = createServer((s: Socket) => {
    s.on('error', () => undefined);
    s.once('data', () => {
      peak = Math.max(peak, ++working);
      setTimeout(() => {
        working--;
        s.end('HTTP/1.1 200 Connection established\r\n\r\nSSH-2.0-origin\r\n');
      }, 150);
    });
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  // Six tunnels of 400 ms each over two slots take three rounds of ~150 ms: only a deadline
  // that starts at the slot lets the last round pass.
  const checks = Array.from({ length: 6 }, (_, i) => tunnel(`t${i}`, 400, url));
  const bounded = await runPlan(plan(checks, 2), []);
  t.equal(peak, 2, 'never more than two tunnels open at once');
  t.same(
    bounded.map((r) => r.verdict),
    Array(6).fill('pass'),
  );
  peak = 0;
  await runPlan(plan(checks), []);
  t.equal(peak, 6, 'without a share, every tunnel at once');
});

t.test('runPlan calls companionDone once, when its last tunnel has ended, while must-fail checks run on', async (t) => {
  let connects = 0;
  const proxy = createServer((s: Socket) => {
    s.on('error', () => undefined);
    s.once('data', () => {
      connects++;
      setTimeout(() => s.end('HTTP/1.1 200 Connection established\r\n\r\nSSH-2.0-origin\r\n'), 100);
    });
  }).listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  t.teardown(() => proxy.close());
  // A loopback UDP socket that never answers: the must-fail UDP check waits out its deadline.
  const silent = createSocket('udp4').bind(0, '127.0.0.1');
  await once(silent, 'listening');
  t.teardown(() => silent.close());
  const url = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  const udp: Check = { id: 'u', kind: 'udp', expect: 'blocked', host: '127.0.0.1', port: silent.address().port, deadlineMs: 1500 };
  const started = performance.now();
  const calls: number[] = [];
  const results = await runPlan(plan([udp, tunnel('t0', 1000, url), tunnel('t1', 1000, url)], 1), [], () =>
    calls.push(performance.now() - started),
  );
  const ended = performance.now() - started;
  t.equal(calls.length, 1, 'called once');
  t.ok((calls[0] ?? 0) >= 200, `after both tunnels, one slot, ~100 ms each (${calls[0]?.toFixed(0)} ms)`);
  t.ok((calls[0] ?? 0) < ended - 800, `well before the UDP check's 1.5 s deadline ends the plan (${ended.toFixed(0)} ms)`);
  t.same(
    results.map((r) => r.id),
    ['u', 't0', 't1'],
  );

  const none: number[] = [];
  await runPlan(plan([tcp('d', 300)]), [], () => none.push(performance.now()));
  t.equal(none.length, 1, 'a plan without a tunnel is done with the companion from the start');
  // A sweep proves a refused port through the companion: done only after that tunnel.
  connects = 0;
  const seen: number[] = [];
  await runPlan(plan([{ ...sweep, companion: { url }, ports: '9', portDeadlineMs: 500, deadlineMs: 1000 }]), [], () => seen.push(connects));
  t.same(seen, [1], "after the sweep's tunnel to port 9");
});

t.test('a companion that accepts but never answers is companion-slow: inconclusive, never a pass', async (t) => {
  const server = createServer((s) => s.on('error', () => undefined)).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const [result] = await runPlan(plan([tunnel('slow', 300, url)], 1), []);
  t.match(result, { verdict: 'inconclusive', observation: { outcome: 'companion-slow' }, reason: /too slow/ });
});
