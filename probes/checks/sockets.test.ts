// Real sockets on loopback only.
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer } from 'node:net';
import t from 'tap';
import { runTcp } from './tcp.js';
import { runUdp } from './udp.js';

const base = { expect: 'blocked' as const, deadlineMs: 1000 };

t.test('tcp: a completed handshake is observed as connected', async (t) => {
  const server = createServer((s) => s.destroy()).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const o = await runTcp({ ...base, id: 't', kind: 'tcp', host: '127.0.0.1', port }, AbortSignal.timeout(1000));
  t.match(o, { outcome: 'connected', class: 'reached' });
  server.close();
  const refused = await runTcp({ ...base, id: 't', kind: 'tcp', host: '127.0.0.1', port }, AbortSignal.timeout(1000));
  t.match(refused, { outcome: 'refused', class: 'blocked' });
});

t.test('udp: an answer is reached; an ICMP port unreachable is indeterminate', async (t) => {
  const echo = createSocket('udp4');
  echo.on('message', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address));
  echo.bind(0, '127.0.0.1');
  await once(echo, 'listening');
  const port = echo.address().port;
  t.match(await runUdp({ ...base, id: 'u', kind: 'udp', host: '127.0.0.1', port }, AbortSignal.timeout(1000)), {
    outcome: 'answered',
    class: 'reached',
  });
  echo.close();
  t.match(await runUdp({ ...base, id: 'u', kind: 'udp', host: '127.0.0.1', port }, AbortSignal.timeout(1000)), {
    outcome: 'refused',
    class: 'indeterminate',
  });
});

t.test('udp: silence until the deadline is a timeout', async (t) => {
  const silent = createSocket('udp4');
  silent.bind(0, '127.0.0.1');
  await once(silent, 'listening');
  const o = await runUdp({ ...base, id: 'u', kind: 'udp', host: '127.0.0.1', port: silent.address().port }, AbortSignal.timeout(300));
  t.match(o, { outcome: 'timeout', class: 'blocked' });
  silent.close();
});
