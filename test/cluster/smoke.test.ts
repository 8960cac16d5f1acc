// Smoke tests of the lab cluster (lab/cluster/up.sh): the node is Ready, a pod runs
// and logs, and Service names resolve through CoreDNS.
// Run: npx tsx --test test/cluster/*.test.ts
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apply, clusterSkip, eventually, execIn, kc, kubectl, toolsPodYaml, uniqueName, waitPodReady } from './cluster.js';

const skip = clusterSkip();

describe('lab cluster smoke', { skip, timeout: 240_000 }, () => {
  const ns = uniqueName('ev-smoke');
  const pod = 'hello';

  before(() => {
    kc(['create', 'namespace', ns]);
    apply(toolsPodYaml(ns, pod, {}, ['sh', '-c', 'echo hello-from-the-lab-cluster; exec sleep 3600']));
  });

  after(() => {
    kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  test('the node is Ready', () => {
    const out = kc([
      'get',
      'nodes',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
    ]);
    const nodes = out.trim().split('\n').filter(Boolean);
    assert.ok(nodes.length >= 1, 'no nodes');
    for (const n of nodes) assert.match(n, /=True$/, `node not Ready: ${n}`);
  });

  test('a pod runs and its log is readable', async () => {
    waitPodReady(ns, pod);
    const logs = await eventually('pod log', 20_000, () => {
      const r = kubectl(['-n', ns, 'logs', pod]);
      return r.code === 0 && r.stdout.includes('hello-from-the-lab-cluster') ? r.stdout : undefined;
    });
    assert.match(logs, /hello-from-the-lab-cluster/);
  });

  test('Service names resolve through CoreDNS (kube-dns)', async () => {
    waitPodReady(ns, pod);
    const dnsIP = kc(['-n', 'kube-system', 'get', 'svc', 'kube-dns', '-o', 'jsonpath={.spec.clusterIP}']).trim();
    const apiIP = kc(['-n', 'default', 'get', 'svc', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}']).trim();
    const resolv = execIn(ns, pod, ['cat', '/etc/resolv.conf']);
    assert.match(resolv.stdout, new RegExp(`nameserver ${dnsIP.replace(/\./g, '\\.')}`));
    const out = await eventually('kubernetes.default resolved', 30_000, () => {
      const r = execIn(ns, pod, ['nslookup', 'kubernetes.default.svc.cluster.local']);
      return r.code === 0 && r.stdout.includes(apiIP) ? r.stdout : undefined;
    });
    assert.match(out, new RegExp(apiIP.replace(/\./g, '\\.')));
    // kube-dns's own FQDN (busybox nslookup), and a short name through the pod's
    // search path with the glibc resolver (curl), as applications resolve.
    const fqdn = execIn(ns, pod, ['nslookup', 'kube-dns.kube-system.svc.cluster.local']);
    assert.ok(fqdn.stdout.includes(dnsIP), fqdn.stdout + fqdn.stderr);
    const short = execIn(ns, pod, [
      'curl',
      '-sk',
      '--max-time',
      '5',
      '-o',
      '/dev/null',
      '-w',
      '%{remote_ip}',
      'https://kubernetes.default/livez',
    ]);
    assert.equal(short.code, 0, short.stderr);
    assert.equal(short.stdout.trim(), apiIP);
  });

  test('a pod reaches the API server through its Service (kube-proxy)', () => {
    waitPodReady(ns, pod);
    const r = execIn(ns, pod, [
      'curl',
      '-sk',
      '--max-time',
      '5',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      'https://kubernetes.default.svc/livez',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^(200|401|403)$/);
  });
});
