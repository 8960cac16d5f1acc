/**
 * A mutating webhook that injects a mesh proxy into probe pods only (as a mesh injected into a
 * namespace does to a probe whose workload opts out): the run compares each probe pod as the
 * API server stored it with the pod it sent, and the run is inconclusive, never a pass. The
 * webhook is a real HTTPS server on loopback, called by the lab cluster's API server.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import t from 'tap';
import type { RunReport } from '../../src/report/report.js';
import { makeCa, makeLeaf } from '../lab/pki.js';
import { apply, CLI, exitIfClusterSkipped, kubectl, LAB_RUN_BASE, PROBE_IMAGE, probePods, REFERENCE_NS } from './cluster.js';

t.setTimeout(300_000);
exitIfClusterSkipped(t);

const scratch = mkdtempSync(join(tmpdir(), 'ev-admission-'));
const WEBHOOK = 'ev-test-inject';
t.teardown(() => {
  kubectl(['delete', 'mutatingwebhookconfiguration', WEBHOOK, '--ignore-not-found']);
  rmSync(scratch, { recursive: true, force: true });
});

// What Istio's injector adds, reduced to what Pod Security "restricted" admits.
const proxy = {
  name: 'istio-proxy',
  image: PROBE_IMAGE,
  imagePullPolicy: 'Never',
  args: ['--version'],
  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
};

t.test('a mesh proxy injected into the probe pod only: inconclusive, the container named', async (t) => {
  const ca = await makeCa(scratch, 'webhook-ca', { o: 'egress-lab', cn: 'webhook CA' });
  const leaf = await makeLeaf(scratch, 'webhook', ca, '127.0.0.1', [], ['127.0.0.1']);
  const injected: string[] = [];
  const server = createServer({ cert: readFileSync(leaf.certFile), key: readFileSync(leaf.keyFile) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString()) as {
        request: { uid: string; name?: string; object: { metadata: { name?: string } } };
      };
      injected.push(review.request.object.metadata.name ?? '');
      const patch = [{ op: 'add', path: '/spec/containers/-', value: proxy }];
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: {
            uid: review.request.uid,
            allowed: true,
            patchType: 'JSONPatch',
            patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
          },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;
  apply(
    dump({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: WEBHOOK },
      webhooks: [
        {
          name: 'inject.ev-test.example',
          clientConfig: { url: `https://127.0.0.1:${port}/mutate`, caBundle: Buffer.from(ca.pem).toString('base64') },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': REFERENCE_NS } },
          objectSelector: { matchExpressions: [{ key: 'egress-verify.dev/run', operator: 'Exists' }] },
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          failurePolicy: 'Fail',
          timeoutSeconds: 5,
        },
      ],
    }),
  );

  // Not spawnSync: the webhook answers from this process while the run creates its pod.
  const file = join(scratch, 'report.json');
  const child = spawn('node', [CLI, ...LAB_RUN_BASE, '-n', REFERENCE_NS, '--workload', 'deployment/data-processor', '-o', `json=${file}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const kill = setTimeout(() => child.kill('SIGTERM'), 180_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(kill);

  t.equal(code, 3, `exit 3: inconclusive\n${stderr}`);
  t.ok(injected.length > 0, 'the API server called the webhook for the probe pod');
  const report = JSON.parse(readFileSync(file, 'utf8')) as RunReport;
  t.equal(report.verdict, 'inconclusive');
  t.ok(
    report.results.every((r) => r.verdict === 'pass'),
    `the checks themselves passed: ${report.results.filter((r) => r.verdict !== 'pass').map((r) => `${r.id} ${r.reason}`)}`,
  );
  t.match(report.findings, [{ ruleId: 'twin-inexact', decides: 'inconclusive', message: /differs from the pod sent.*istio-proxy/ }]);
  t.same(probePods(), [], 'no probe pod is left behind');
});
