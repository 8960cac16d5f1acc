import { type AddressInfo, createServer, type Server } from 'node:net';
import t from 'tap';
import { type AllowedPath, allowedPaths, awaitAllowedPath } from './allowed-path.js';
import type { Check } from './base/model.js';

const companion = { url: 'http://egress-guardian-svc:8080' };

t.test('the allowed paths are the companions and the names the pod must resolve, each once', async (t) => {
  const checks: Check[] = [
    { id: 'a', kind: 'proxy-https', expect: 'reachable', url: 'https://origin.lab/', companion, deadlineMs: 1000 },
    { id: 'b', kind: 'canary', expect: 'blocked', url: 'https://denied.lab/', companion, deadlineMs: 1000 },
    { id: 'c', kind: 'dns', mode: 'resolve', expect: 'reachable', name: 'origin.lab', deadlineMs: 1000 },
    { id: 'd', kind: 'dns', mode: 'resolve', expect: 'blocked', name: 'exfil.lab', deadlineMs: 1000 },
    { id: 'e', kind: 'tcp', expect: 'blocked', host: '192.0.2.1', port: 443, deadlineMs: 1000 },
  ];
  t.same(allowedPaths(checks), [{ companion: companion.url }, { resolve: 'origin.lab' }]);
  t.same(allowedPaths([checks[4] as Check]), [], 'a plan of direct dials has no allowed path to wait for');
});

const listen = (server: Server, port = 0): Promise<number> =>
  new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

t.test('waits until a companion that is not yet reachable accepts a connection', async (t) => {
  const server = createServer((s) => s.destroy());
  const port = await listen(server);
  await close(server);
  // The companion appears 600 ms in, as a pod's allow rule would.
  const late = new Promise<void>((resolve) => setTimeout(() => void listen(server, port).then(() => resolve()), 600));
  t.teardown(() => close(server));
  const wait = await awaitAllowedPath([{ companion: `http://127.0.0.1:${port}` }, { resolve: 'localhost' }], 5000);
  await late;
  t.same(wait.silent, []);
  t.ok(wait.waitedMs >= 500 && wait.waitedMs < 3000, `waited ${wait.waitedMs} ms`);
});

t.test('a path that never answers is named once the wait runs out', async (t) => {
  const server = createServer();
  const port = await listen(server);
  await close(server);
  const wait = await awaitAllowedPath([{ companion: `http://127.0.0.1:${port}` }, { resolve: 'localhost' }], 700);
  t.same(wait.silent, [`the companion http://127.0.0.1:${port}`]);
  t.same([...wait.answered], ["the pod's resolver for localhost"], 'what answered is what the path watch looks for');
  t.ok(wait.waitedMs >= 650 && wait.waitedMs < 2000, `waited ${wait.waitedMs} ms`);
});

t.test('attempts are bounded by count and time, and stop at the first answer', async (t) => {
  const tries: AllowedPath[] = [];
  const silent = await awaitAllowedPath([{ resolve: 'x' }], 1000, async (path) => {
    tries.push(path);
    return false;
  });
  t.same(silent.silent, ["the pod's resolver for x"]);
  t.ok(tries.length >= 2 && tries.length <= 5, `${tries.length} attempts in a second`);
  let n = 0;
  const third = await awaitAllowedPath([{ resolve: 'x' }], 10_000, async () => ++n === 3);
  t.same([third.silent, n], [[], 3]);
  t.same((await awaitAllowedPath([], 10_000)).silent, [], 'nothing to wait for returns at once');
});
