import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import t from 'tap';
import { throwawayCa } from '../../test/throwaway-ca.js';
import type { ProxyEnvCheck } from '../base/model.js';
import { runProxyEnv } from './proxy-env.js';

const dir = mkdtempSync(join(tmpdir(), 'ev-proxy-env-test-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const pem = throwawayCa(dir, 'outside.test');
const cert = readFileSync(pem.cert, 'utf8');

/** The origin, on loopback: HTTPS for outside.test, answering 204. */
async function origin(): Promise<number> {
  const server = createTlsServer({ cert, key: readFileSync(pem.key, 'utf8') }, (tls) => {
    tls.on('error', () => undefined);
    tls.once('data', () => tls.end('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n'));
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  return (server.address() as { port: number }).port;
}

/** A SOCKS5 server (no authentication) that records what it was asked for and tunnels to `port` on loopback. */
async function socks5(port: number): Promise<{ url: string; asked: string[] }> {
  const asked: string[] = [];
  const server = createTcpServer((client: Socket) => {
    client.on('error', () => undefined);
    client.once('data', () => {
      client.write(Buffer.from([5, 0]));
      client.once('data', (req: Buffer) => {
        // VER CMD RSV ATYP=3 LEN NAME PORT: socks5h sends the name, for the proxy to resolve.
        const len = req[4] ?? 0;
        asked.push(`${req.subarray(5, 5 + len).toString()}:${req.readUInt16BE(5 + len)}`);
        const upstream = connect(port, '127.0.0.1', () => {
          client.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
          client.pipe(upstream).pipe(client);
        });
        upstream.on('error', () => client.destroy());
      });
    });
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  return { url: `socks5h://127.0.0.1:${(server.address() as { port: number }).port}`, asked };
}

const check: ProxyEnvCheck = {
  id: 'proxy-env/https://outside.test/',
  kind: 'proxy-env',
  expect: 'reachable',
  deadlineMs: 2000,
  url: 'https://outside.test/',
  origin: { status: ['204'] },
};

t.test('HTTPS_PROXY=socks5h://: the request goes through the SOCKS proxy, which resolves the name', async (t) => {
  const proxy = await socks5(await origin());
  const saved = { HTTPS_PROXY: process.env.HTTPS_PROXY, NO_PROXY: process.env.NO_PROXY };
  process.env.HTTPS_PROXY = proxy.url;
  delete process.env.NO_PROXY;
  t.teardown(() => Object.assign(process.env, saved));
  t.match(await runProxyEnv(check, AbortSignal.timeout(2000), cert), {
    outcome: 'http-response',
    class: 'reached',
    facts: { proxy: proxy.url },
  });
  t.same(proxy.asked, ['outside.test:443'], 'one tunnel, by name');
});
