import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { throwawayCa } from '../../test/throwaway-ca.js';
import { apiRequests, connectKube } from './client.js';

/** A kubeconfig in `dir` for one cluster entry and a token user. */
function kubeconfigFor(dir: string, cluster: Record<string, unknown>): string {
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'lab', cluster }],
      users: [{ name: 'u', user: { token: 'x' } }],
      contexts: [{ name: 'lab', context: { cluster: 'lab', user: 'u' } }],
      'current-context': 'lab',
    }),
  );
  return kubeconfig;
}

t.test('every request to the API server is counted, as the server saw it', async (t) => {
  let served = 0;
  const server = createServer((_req, res) => {
    served++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'v1', kind: 'PodList', metadata: {}, items: [] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const dir = mkdtempSync(join(tmpdir(), 'ev-client-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const kube = connectKube({
    kubeconfig: kubeconfigFor(dir, {
      server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      'insecure-skip-tls-verify': true,
    }),
  });
  t.equal(apiRequests(kube), 0);
  await kube.core.listNamespacedPod({ namespace: 'a' });
  await kube.apps.listNamespacedDeployment({ namespace: 'a' });
  await kube.core.listNamespacedPod({ namespace: 'b' });
  t.equal(served, 3);
  t.equal(apiRequests(kube), 3);
});

t.test('over HTTPS every request shares one TLS context and resumes the session, the watch and follow-ups too', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ev-client-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { key, cert } = throwawayCa(dir, 'kube.test');
  const handshakes: boolean[] = [];
  const server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'v1', kind: 'PodList', metadata: {}, items: [] }));
  });
  server.on('secureConnection', (socket) => {
    socket.once('data', () => handshakes.push(socket.isSessionReused()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const kube = connectKube({
    kubeconfig: kubeconfigFor(dir, {
      server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
      'certificate-authority-data': readFileSync(cert).toString('base64'),
      'tls-server-name': 'kube.test',
    }),
  });
  await kube.core.listNamespacedPod({ namespace: 'a' });
  await kube.apps.listNamespacedDeployment({ namespace: 'a' });
  const first = await kube.config.applyToFetchOptions({});
  const second = await kube.config.applyToFetchOptions({});
  t.equal(first.agent, second.agent, 'one agent for the fetch-based calls (watches, log follows)');
  await kube.core.listNamespacedPod({ namespace: 'b' });
  t.equal(apiRequests(kube), 5, 'still counted');
  t.same(handshakes, [false, true, true], 'a full handshake once, then resumed sessions');
});
