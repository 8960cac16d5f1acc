// Real sockets on loopback only: a listener, closed ports, and a CONNECT proxy that (like the
// lab's outside host) answers on every port by tunnelling to one listener.
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import t from 'tap';
import type { TcpSweepCheck } from '../base/model.js';
import { judgeSweep } from '../sweep.js';
import { runTcpSweep } from './tcp-sweep.js';

async function listen<T extends { listen: (port: number, host: string) => unknown; address: () => unknown }>(server: T): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server as never, 'listening');
  return (server.address() as { port: number }).port;
}

t.test('a sweep finds the open port, proves the refused ones through the companion, within its bounds', async (t) => {
  const open = createServer((s) => s.destroy());
  const openPort = await listen(open);
  const everyPort = createServer((s) => s.destroy());
  const everyPortPort = await listen(everyPort);
  let inFlight = 0;
  let peak = 0;
  const proxy = createHttpServer();
  proxy.on('connect', (_req, client: Socket) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    // Hold each tunnel a moment, so the bound is what limits how many are open at once.
    setTimeout(() => {
      // The origin behind the tunnel speaks first: a CONNECT 200 alone would prove nothing.
      client.end('HTTP/1.1 200 Connection established\r\n\r\nSSH-2.0-origin\r\n');
      inFlight--;
    }, 50);
  });
  const proxyPort = await listen(proxy);
  t.teardown(() => {
    open.close();
    everyPort.close();
    proxy.close();
  });
  // Ports next to the open one are very likely closed on loopback: refused.
  const closed = [openPort + 1, openPort + 2, openPort + 3, openPort + 4, openPort + 5].filter(
    (p) => p !== everyPortPort && p !== proxyPort,
  );
  const check: TcpSweepCheck = {
    id: 'tcp-sweep/127.0.0.1',
    kind: 'tcp-sweep',
    expect: 'blocked',
    host: '127.0.0.1',
    ports: [openPort, ...closed].sort((a, b) => a - b).join(','),
    companion: { url: `http://127.0.0.1:${proxyPort}` },
    portDeadlineMs: 1000,
    concurrency: 2,
    companionConcurrency: 2,
    deadlineMs: 5000,
  };
  const observation = { ...(await runTcpSweep(check, AbortSignal.timeout(check.deadlineMs))), durationMs: 0 };
  t.match(observation, { outcome: 'connected', class: 'reached' });
  t.equal(observation.facts?.['direct.connected'], String(openPort));
  t.ok(peak <= 2 && peak > 0, `at most companionConcurrency tunnels at once (peak ${peak})`);
  const judged = judgeSweep(check, observation, 'proven-host');
  t.equal(judged?.verdict, 'fail');
  t.match(judged?.reason, new RegExp(`^open TCP port\\(s\\) ${openPort}: `));
  t.match(judged?.reason, /pass [0-9,-]+ \(refused on the direct path while the same port answers through the companion\)/);
});

t.test("issue 11: a bumping proxy's CONNECT 200 to a refused port proves nothing about that port", async (t) => {
  // As Squid on an ssl-bump port: 200 before it dials, then it waits for the client to speak.
  const proxy = createHttpServer();
  proxy.on('connect', (_req, client: Socket) => client.write('HTTP/1.1 200 Connection established\r\n\r\n'));
  const proxyPort = await listen(proxy);
  const closedServer = createServer();
  const closedPort = await listen(closedServer);
  closedServer.close();
  t.teardown(() => {
    proxy.closeAllConnections();
    proxy.close();
  });
  const check: TcpSweepCheck = {
    id: 'tcp-sweep/127.0.0.1',
    kind: 'tcp-sweep',
    expect: 'blocked',
    host: '127.0.0.1',
    ports: String(closedPort),
    companion: { url: `http://127.0.0.1:${proxyPort}` },
    portDeadlineMs: 500,
    concurrency: 1,
    companionConcurrency: 1,
    deadlineMs: 3000,
  };
  const observation = { ...(await runTcpSweep(check, AbortSignal.timeout(check.deadlineMs))), durationMs: 0 };
  t.equal(observation.facts?.['direct.refused'], String(closedPort));
  const judged = judgeSweep(check, observation, 'proven-host');
  t.equal(judged?.verdict, 'inconclusive', `${judged?.reason}`);
  t.match(judged?.reason, /a closed port looks the same as a reject/);
});
