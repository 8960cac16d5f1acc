import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import t from 'tap';
import { followLog } from './follow-log.js';

/** A loopback API server whose log endpoint is the test's to drive. */
async function server(
  t: { teardown: (fn: () => void) => void },
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<KubeConfig> {
  const http = createServer(handle).listen(0, '127.0.0.1');
  await once(http, 'listening');
  t.teardown(() => {
    http.closeAllConnections();
    http.close();
  });
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return config;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

t.test('lines arrive as the kubelet writes them, whole, however the stream is cut; then done', async (t) => {
  const seen: string[] = [];
  const config = await server(t, (req, res) => {
    seen.push(`${req.url} ${req.headers.authorization}`);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first\nsec');
    setTimeout(() => res.write('ond\n'), 50);
    setTimeout(() => res.end('third\n'), 100);
  });
  const lines: string[] = [];
  const ended = new Promise<Error | undefined>((resolve) => {
    void followLog(config, { namespace: 'ns', pod: 'p0', container: 'probe', onLine: (l) => lines.push(l), done: resolve });
  });
  t.equal(await ended, undefined, 'done without an error');
  t.same(lines, ['first', 'second', 'third']);
  t.same(seen, ['/api/v1/namespaces/ns/pods/p0/log?container=probe&follow=true Bearer secret-token']);
});

t.test('an answer other than 200 is done with an error naming the pod', async (t) => {
  const config = await server(t, (_req, res) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end('{"kind":"Status","message":"container is waiting to start"}');
  });
  const err = await new Promise<Error | undefined>((resolve) => {
    void followLog(config, { namespace: 'ns', pod: 'p0', container: 'probe', onLine: () => t.fail('no line'), done: resolve });
  });
  t.match(err, { message: 'following the log of p0: HTTP 400' });
});

t.test('an abort mid-stream stops it: no more lines, no done, no crash, the connection closed', async (t) => {
  let closed = false;
  const config = await server(t, (req, res) => {
    res.writeHead(200);
    res.write('one\n');
    req.socket.on('close', () => {
      closed = true;
    });
  });
  const lines: string[] = [];
  const controller = await followLog(config, {
    namespace: 'ns',
    pod: 'p0',
    container: 'probe',
    onLine: (l) => lines.push(l),
    done: () => t.fail('done after an abort'),
  });
  for (let i = 0; i < 100 && lines.length === 0; i++) await pause(10);
  controller.abort();
  for (let i = 0; i < 100 && !closed; i++) await pause(10);
  t.ok(closed, 'the server saw the connection close');
  await pause(50);
  t.same(lines, ['one']);
});

t.test('an unreachable server is done with its error', async (t) => {
  const config = new KubeConfig();
  // A port from a closed listener: nothing answers there.
  const gone = createServer().listen(0, '127.0.0.1');
  await once(gone, 'listening');
  const port = (gone.address() as AddressInfo).port;
  await new Promise((resolve) => gone.close(resolve));
  config.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const err = await new Promise<Error | undefined>((resolve) => {
    void followLog(config, { namespace: 'ns', pod: 'p0', container: 'probe', onLine: () => undefined, done: resolve });
  });
  t.match(err, { code: 'ECONNREFUSED' });
});
