import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { classifyCurl, runCurl } from './curl.js';

const noConnect = { time_connect: 0, num_connects: 0 };

t.test('curl exit codes map to what the network did', async (t) => {
  t.match(classifyCurl({ exitCode: 0, stderr: '', writeOut: { http_code: 200, time_connect: 0.01 } }), {
    outcome: 'http-response',
    class: 'reached',
  });
  t.match(classifyCurl({ exitCode: 6, stderr: '', writeOut: noConnect }), { outcome: 'dns-failure', class: 'indeterminate' });
  t.match(classifyCurl({ exitCode: 7, stderr: '* connect to 203.0.113.10 port 443 failed: Connection refused', writeOut: noConnect }), {
    outcome: 'refused',
    class: 'blocked',
  });
  t.match(classifyCurl({ exitCode: 7, stderr: '* connect to 203.0.113.10 port 443 failed: No route to host', writeOut: noConnect }), {
    outcome: 'unreachable',
  });
  t.match(classifyCurl({ exitCode: 7, stderr: '* connect to x port 443 failed: Operation not permitted', writeOut: noConnect }), {
    outcome: 'filtered',
  });
  t.match(
    classifyCurl({ exitCode: 7, stderr: 'something new', writeOut: noConnect }),
    { outcome: 'refused' },
    'unknown reasons need a port-level control',
  );
  t.match(classifyCurl({ exitCode: 28, stderr: '', writeOut: noConnect }), { outcome: 'timeout', class: 'blocked' });
  t.match(classifyCurl({ exitCode: 56, stderr: '', writeOut: noConnect }), { outcome: 'reset', class: 'blocked' });
  t.match(classifyCurl({ exitCode: 3, stderr: 'URL rejected', writeOut: noConnect }), { outcome: 'probe-error', class: 'error' });
});

t.test('any failure after the TCP handshake is a bypass: the route is open', async (t) => {
  for (const exitCode of [28, 35, 52, 56, 60]) {
    t.match(
      classifyCurl({ exitCode, stderr: '', writeOut: { time_connect: 0.002, remote_ip: '203.0.113.10' } }),
      { outcome: 'connected', class: 'reached' },
      `exit ${exitCode}`,
    );
  }
  t.match(classifyCurl({ exitCode: 35, stderr: '', writeOut: { num_connects: 1 } }), { class: 'reached' });
});

t.test('an IPv6 literal URL is dialled (curl refuses a --resolve entry for it: exit 49, an error)', async (t) => {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;
  for (const mode of ['env-cleared', 'noproxy'] as const) {
    const check = { id: 'c', kind: 'curl', expect: 'blocked', mode, url: `http://[::1]:${port}/`, deadlineMs: 5000 } as const;
    t.match(await runCurl(check, AbortSignal.timeout(5000)), { outcome: 'http-response', class: 'reached' }, mode);
  }
});
