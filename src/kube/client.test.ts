import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { apiRequests, connectKube } from './client.js';

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
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'lab',
          cluster: { server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'insecure-skip-tls-verify': true },
        },
      ],
      users: [{ name: 'u', user: { token: 'x' } }],
      contexts: [{ name: 'lab', context: { cluster: 'lab', user: 'u' } }],
      'current-context': 'lab',
    }),
  );
  const kube = connectKube({ kubeconfig });
  t.equal(apiRequests(kube), 0);
  await kube.core.listNamespacedPod({ namespace: 'a' });
  await kube.apps.listNamespacedDeployment({ namespace: 'a' });
  await kube.core.listNamespacedPod({ namespace: 'b' });
  t.equal(served, 3);
  t.equal(apiRequests(kube), 3);
});
