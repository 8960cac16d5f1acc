// Real sockets on loopback only: small CONNECT proxies that refuse, ask for credentials, or let
// the request through to an origin that marks its answers.
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import t from 'tap';
import type { CanaryCheck } from '../base/model.js';
import { carrying, runCanary } from './canary.js';
import { judgeRefusal } from './origin.js';

const marked = { status: ['2xx'], header: { name: 'x-lab-origin', value: 'outside-http' } };
const answer = (status: number, headers: Record<string, string> = {}, body = '') => ({ status, headers, body });

t.test("only the companion's own refusal is a refusal; the origin's answer is the origin's", async (t) => {
  const signed = { 'proxy-status': 'egress-guardian; error=http_request_denied' };
  t.match(judgeRefusal(answer(403, signed)), { class: 'blocked', outcome: 'proxy-refused' });
  t.match(judgeRefusal(answer(403), marked), { class: 'blocked' }, 'a 403 without the declared marker');
  t.match(judgeRefusal(answer(403)), { class: 'indeterminate' }, 'an unsigned 403 with no marker declared may be the origin');
  t.match(judgeRefusal(answer(403, { 'x-lab-origin': 'outside-http' }), marked), { class: 'reached' }, "the origin's own 403");
  t.match(judgeRefusal(answer(200, { 'x-lab-origin': 'outside-http' }), marked), { class: 'reached', outcome: 'http-response' });
  t.match(judgeRefusal(answer(200)), { class: 'reached' }, 'a declared status, no marker declared');
  t.match(judgeRefusal(answer(200), marked), { class: 'indeterminate' }, 'a 200 without the marker is nobody known');
  t.match(judgeRefusal(answer(502, signed)), { class: 'indeterminate', outcome: 'upstream-error' }, 'origin down');
  t.match(judgeRefusal(answer(407, signed)), { class: 'indeterminate' }, 'credentials, not policy');
});

t.test('the secret goes where the check puts it', async (t) => {
  const secret = (where: 'header' | 'query' | 'body') => ({ in: where, name: 'api_key', value: 'AKIAIOSFODNN7EXAMPLE' });
  t.same(carrying('https://a.test/x', undefined), { target: 'https://a.test/x', headers: {} });
  t.same(carrying('https://a.test/x', secret('header')).headers, { api_key: 'AKIAIOSFODNN7EXAMPLE' });
  t.equal(carrying('https://a.test/x?y=1', secret('query')).target, 'https://a.test/x?y=1&api_key=AKIAIOSFODNN7EXAMPLE');
  t.equal(carrying('https://a.test/x', secret('body')).form, 'api_key=AKIAIOSFODNN7EXAMPLE');
});

/** A CONNECT proxy on loopback: `connect` answers the CONNECT line; on 200 `origin` speaks HTTP in the tunnel. */
async function proxy(connect: string, origin?: (request: string) => string): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((s: Socket) => {
    s.on('error', () => undefined);
    let head = '';
    let tunnelled = false;
    s.on('data', (chunk) => {
      head += chunk.toString('latin1');
      if (!tunnelled && head.includes('\r\n\r\n')) {
        s.write(`${connect}\r\n\r\n`);
        if (!connect.includes(' 200 ') || origin === undefined) return void s.end();
        tunnelled = true;
        head = '';
        return;
      }
      if (tunnelled && head.includes('\r\n\r\n') && (!/^POST /.test(head) || /\r\n\r\n.+/s.test(head))) {
        requests.push(head);
        s.end(origin?.(head) ?? '');
      }
    });
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, requests };
}

const canary = (companion: string, extra: Partial<CanaryCheck> = {}): CanaryCheck => ({
  id: 'canary/x',
  kind: 'canary',
  expect: 'blocked',
  deadlineMs: 2000,
  url: 'http://outside.test/',
  companion: { url: companion },
  origin: marked,
  ...extra,
});
const secret = { in: 'header' as const, name: 'x-api-key', value: 'AKIAIOSFODNN7EXAMPLE' };
const run = (c: CanaryCheck) => runCanary(c, AbortSignal.timeout(c.deadlineMs), undefined);

t.test('a CONNECT refused by policy: a refusal of the destination, but no test of the secret', async (t) => {
  const p = await proxy('HTTP/1.1 403 Forbidden');
  t.match(await run(canary(p.url)), { class: 'blocked', outcome: 'proxy-refused' });
  t.match(await run(canary(p.url, { secret })), { class: 'indeterminate', detail: /never sent/ });
});

t.test('a CONNECT answered 407 or 502 is no refusal by policy', async (t) => {
  t.match(await run(canary((await proxy('HTTP/1.1 407 Proxy Authentication Required')).url)), { class: 'indeterminate' });
  t.match(await run(canary((await proxy('HTTP/1.1 502 Bad Gateway')).url)), { class: 'indeterminate', outcome: 'upstream-error' });
});

t.test('through the tunnel: the origin answered (fail) or the companion refused the secret (pass)', async (t) => {
  const open = await proxy(
    'HTTP/1.1 200 Connection established',
    () => 'HTTP/1.1 200 OK\r\nx-lab-origin: outside-http\r\ncontent-length: 0\r\n\r\n',
  );
  t.match(await run(canary(open.url, { secret })), { class: 'reached' });
  t.match(open.requests[0], /\r\nx-api-key: AKIAIOSFODNN7EXAMPLE\r\n/i, 'the secret was sent in the header');
  const inspecting = await proxy('HTTP/1.1 200 Connection established', (req) =>
    req.includes('AKIA')
      ? 'HTTP/1.1 403 Forbidden\r\nproxy-status: lab; error=http_request_denied\r\ncontent-length: 0\r\n\r\n'
      : 'HTTP/1.1 200 OK\r\nx-lab-origin: outside-http\r\ncontent-length: 0\r\n\r\n',
  );
  t.match(await run(canary(inspecting.url, { secret: { ...secret, in: 'body', name: 'api_key' } })), {
    class: 'blocked',
    outcome: 'proxy-refused',
  });
  t.match(inspecting.requests[0], /^POST [\s\S]*\r\n\r\napi_key=AKIAIOSFODNN7EXAMPLE$/, 'the secret was sent in a form body');
});
