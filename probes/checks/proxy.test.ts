// Real sockets on loopback only: small stand-ins for the companions' behaviours of issue 11.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import t from 'tap';
import type { ProxyConnectCheck, ProxyHttpsCheck } from '../base/model.js';
import { observe } from '../runner.js';
import { runProxyHttps } from './proxy.js';
import { connectFailed } from './tunnel.js';

const dir = mkdtempSync(join(tmpdir(), 'ev-proxy-test-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
execFileSync('openssl', [
  'req',
  '-x509',
  '-newkey',
  'ec',
  '-pkeyopt',
  'ec_paramgen_curve:prime256v1',
  '-nodes',
  '-subj',
  '/CN=outside.test',
  '-addext',
  'subjectAltName=DNS:outside.test',
  '-days',
  '1',
  '-keyout',
  join(dir, 'key.pem'),
  '-out',
  join(dir, 'cert.pem'),
]);
const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
const key = readFileSync(join(dir, 'key.pem'), 'utf8');

async function serve(onConnection: (socket: Socket, n: number) => void): Promise<{ server: Server; url: (scheme: string) => string }> {
  let n = 0;
  const server = createServer((s) => {
    s.on('error', () => undefined);
    onConnection(s, n++);
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  return { server, url: (scheme) => `${scheme}://127.0.0.1:${port}` };
}

const https = (companion: string): ProxyHttpsCheck => ({
  id: 'p',
  kind: 'proxy-https',
  expect: 'reachable',
  deadlineMs: 1000,
  url: 'https://outside.test/',
  companion: { url: companion },
});

t.test("a bumping proxy's CONNECT 200 and its own error page are not the origin's answer", async (t) => {
  let host: string | undefined;
  // As Squid with ssl-bump: 200 to the CONNECT before dialling, then its page over its own TLS.
  const { url } = await serve((socket) => {
    socket.once('data', () => {
      socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
      const tls = new TLSSocket(socket, { isServer: true, cert, key });
      tls.on('error', () => undefined);
      tls.once('data', (req: Buffer) => {
        host = /\r\nhost: ([^\r]*)/i.exec(req.toString('latin1'))?.[1];
        tls.end('HTTP/1.1 403 Forbidden\r\nX-Squid-Error: ERR_ACCESS_DENIED 0\r\nContent-Length: 6\r\nConnection: close\r\n\r\ndenied');
      });
    });
  });
  const o = await runProxyHttps(https(url('http')), AbortSignal.timeout(1000), cert);
  t.match(o, { class: 'blocked', outcome: 'proxy-refused', detail: /x-squid-error: ERR_ACCESS_DENIED/ });
  t.equal(host, 'outside.test', 'Host names the origin without :80 (Squid rebuilds the URL from it)');
  t.notOk(o.finding?.failing, 'the certificate chains to the companion CA: interception verified');
});

t.test('SOCKS5 sent to an HTTP proxy port is refused with a clear reason, whether it answers or stays silent', async (t) => {
  const answers = await serve((socket) => socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n')));
  t.match(await runProxyHttps(https(answers.url('socks5h')), AbortSignal.timeout(1000), cert), {
    class: 'blocked',
    outcome: 'proxy-refused',
    detail: /not a SOCKS5 proxy: it answered "HTTP\/1.1 400 Bad Request"/,
  });
  const silent = await serve(() => undefined);
  t.match(await runProxyHttps(https(silent.url('socks5h')), AbortSignal.timeout(500), cert), {
    class: 'blocked',
    outcome: 'proxy-refused',
    detail: /never answered the SOCKS5 greeting/,
  });
});

t.test("a retry cut short by the deadline keeps the companion's immediate 502", async (t) => {
  // As Smokescreen for a host that is down: 502 at once; the retry then hangs.
  const { url } = await serve((socket, n) => {
    if (n === 0) socket.once('data', () => socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
  });
  const check: ProxyConnectCheck = {
    id: 'c',
    kind: 'proxy-connect',
    expect: 'reachable',
    deadlineMs: 800,
    host: '203.0.113.10',
    port: 80,
    proof: 'http',
    companion: { url: url('http') },
  };
  const o = await observe(check);
  t.match(o, { class: 'indeterminate', outcome: 'upstream-error', detail: /502 Bad Gateway/ });
});

t.test('a tunnel that opens but carries nothing back proves nothing', async (t) => {
  const { url } = await serve((socket) => socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\n\r\n')));
  const check: ProxyConnectCheck = {
    id: 'c',
    kind: 'proxy-connect',
    expect: 'reachable',
    deadlineMs: 500,
    host: '203.0.113.10',
    port: 22,
    proof: 'banner',
    companion: { url: url('http') },
  };
  t.match(await observe(check), { class: 'indeterminate', outcome: 'origin-unproven' });
});

t.test('an error during CONNECT: a refusal breaks the allowed path, a reset proves nothing', async (t) => {
  const error = (code: string, syscall: string): Error => Object.assign(new Error(`${syscall} ${code}`), { code, syscall });
  // As the lab cluster showed with the companion scaled to 0: the refusal surfaced on the write.
  t.match(connectFailed(error('ECONNREFUSED', 'write')), {
    outcome: 'proxy-unreachable',
    class: 'blocked',
    detail: /refused the connection/,
  });
  t.match(connectFailed(error('ECONNRESET', 'read')), { outcome: 'upstream-error', class: 'indeterminate', detail: /closed the CONNECT/ });
});
