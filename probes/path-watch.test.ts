import { type AddressInfo, createServer } from 'node:net';
import t from 'tap';
import type { AllowedPath, Ask } from './allowed-path.js';
import { redialMs, samplesFor, watchPaths } from './path-watch.js';

const describe = (p: AllowedPath): string => ('companion' in p ? p.companion : p.resolve);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Answers as `up(msSinceStart)` says, counting its samples. */
function scripted(up: (ms: number) => boolean): { ask: Ask; asked: () => number } {
  const start = performance.now();
  let n = 0;
  return {
    ask: async () => {
      n++;
      return up(performance.now() - start);
    },
    asked: () => n,
  };
}

t.test('a path silent around a dial is named; one that answered throughout is not', async (t) => {
  // Up, silent from 300 to 900 ms, up again.
  const path = scripted((ms) => ms < 300 || ms > 900);
  const watch = watchPaths([{ resolve: 'cluster' }], 100, describe, { ask: path.ask });
  t.teardown(() => watch.stop());
  const t0 = performance.now();
  t.same(await watch.silentDuring(t0, t0 + 50), [], 'a dial while the path answered');
  await sleep(400);
  const during = performance.now();
  t.same(await watch.silentDuring(during, during + 10), ['cluster'], 'a dial in the silence');
  t.ok(await watch.answersAfter(performance.now(), 3000), 'the path answers again');
  const after = performance.now();
  t.same(await watch.silentDuring(after, after + 10), [], 'a dial after it');
  t.same(await watch.silentDuring(t0, after), ['cluster'], 'a dial across it');
});

t.test('a path that never answered is broken, not unsteady; one that does not come back is reported', async (t) => {
  const never = watchPaths([{ resolve: 'gone' }], 100, describe, { ask: scripted(() => false).ask });
  t.teardown(() => never.stop());
  const t0 = performance.now();
  t.same(await never.silentDuring(t0, t0 + 10), []);
  t.ok(await never.answersAfter(performance.now(), 100), 'nothing that ever answered is awaited');

  // Seen answering before the watch (the path wait), silent since: a window, not a broken path.
  const since = watchPaths([{ resolve: 'since' }], 100, describe, { ask: scripted(() => false).ask, answered: new Set(['since']) });
  t.teardown(() => since.stop());
  const t1 = performance.now();
  t.same(await since.silentDuring(t1, t1 + 10), ['since']);

  const lost = watchPaths([{ resolve: 'lost' }], 100, describe, { ask: scripted((ms) => ms < 100).ask });
  t.teardown(() => lost.stop());
  await sleep(700);
  const started = performance.now();
  t.notOk(await lost.answersAfter(started, 600), 'the wait for it is bounded');
  t.ok(performance.now() - started < 1500);
});

t.test('a dial seen late is sampled at once, and the samples are bounded by count', async (t) => {
  const steady = scripted(() => true);
  const watch = watchPaths([{ resolve: 'a' }, { resolve: 'b' }], 6, describe, { ask: steady.ask });
  await sleep(100);
  const to = performance.now();
  // The next sample would come after a 500 ms pause: it is taken now instead.
  t.same(await watch.silentDuring(to - 50, to), []);
  t.ok(performance.now() - to < 300, `answered in ${Math.round(performance.now() - to)} ms`);
  await sleep(4000);
  t.equal(steady.asked(), 12, 'six samples per path, then no more');
  const late = performance.now();
  t.same(await watch.silentDuring(late, late), ['a', 'b'], 'a dial no sample followed is not shown held');
  watch.stop();
  t.ok(samplesFor(10_000) > 10_000 / 500, 'a plan gets a sample per pause, and more');
  t.equal(redialMs([{ id: 'r', kind: 'tcp', expect: 'reachable', host: '127.0.0.1', port: 1, deadlineMs: 1000 }]), 0);
  t.ok(redialMs([{ id: 'b', kind: 'tcp', expect: 'blocked', host: '127.0.0.1', port: 1, deadlineMs: 1000 }]) > 5000);
});

t.test('stop ends the sampling at once', async (t) => {
  const steady = scripted(() => true);
  const watch = watchPaths([{ resolve: 'a' }], 100, describe, { ask: steady.ask });
  await sleep(50);
  watch.stop();
  const asked = steady.asked();
  await sleep(700);
  t.equal(steady.asked(), asked);
});

t.test('the real asking over loopback: a companion that accepts, one that does not, a name that resolves', async (t) => {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const open = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const closedServer = createServer();
  await new Promise<void>((r) => closedServer.listen(0, '127.0.0.1', r));
  const closed = `http://127.0.0.1:${(closedServer.address() as AddressInfo).port}`;
  await new Promise((r) => closedServer.close(r));
  const watch = watchPaths([{ companion: open }, { resolve: 'localhost' }, { companion: closed }], 20, describe);
  t.teardown(() => watch.stop());
  // The closed companion never answered: it is broken, not unsteady, and so not named.
  t.ok(await watch.answersAfter(performance.now(), 3000));
  const now = performance.now();
  t.same(await watch.silentDuring(now - 10, now), []);
  server.close();
  await sleep(100);
  const gone = performance.now();
  t.same(await watch.silentDuring(gone, gone), [open], 'the companion that stopped accepting');
});
