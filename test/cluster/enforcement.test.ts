// NetworkPolicy enforcement (kube-router) of the article's companion architecture,
// manifests/reference/, on the lab cluster:
// - a role=agent-workload pod cannot open TCP to the outside host 203.0.113.10:443,
//   even with its proxy variables cleared;
// - it resolves egress-guardian-svc and fetches the outside site through the companion
//   (TLS intercepted by the companion's CA);
// - an unlabelled pod in another namespace reaches the outside host directly;
// - deleting restrict-workload-egress opens the direct path (restored afterwards).
// kube-router applies rules asynchronously, so every expectation is polled, bounded.
// Run: npx tsx --test test/cluster/*.test.ts
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  apply,
  clusterSkip,
  directHttps,
  eventually,
  execIn,
  firstPod,
  kc,
  kubectl,
  OUTSIDE_BODY,
  OUTSIDE_IP,
  OUTSIDE_NAME,
  REFERENCE_NS,
  REPO_ROOT,
  run,
  toolsPodYaml,
  uniqueName,
  waitPodReady,
} from './cluster.js';

const skip = clusterSkip();
const POLICY_FILE = `${REPO_ROOT}/manifests/reference/20-network-policies.yaml`;
// Enough for kube-router to notice a pod or policy change and resync.
const ENFORCE_WAIT_MS = 60_000;

describe('companion egress enforcement (manifests/reference)', { skip, timeout: 600_000 }, () => {
  const otherNs = uniqueName('ev-outside-ns');
  let workload = '';

  before(() => {
    const r = run('bash', [`${REPO_ROOT}/lab/cluster/apply-reference.sh`], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, `apply-reference.sh failed: ${r.stdout}${r.stderr}`);
    workload = firstPod(REFERENCE_NS, 'role=agent-workload');
    waitPodReady(REFERENCE_NS, workload);
    kc(['create', 'namespace', otherNs]);
    apply(toolsPodYaml(otherNs, 'unlabelled'));
    waitPodReady(otherNs, 'unlabelled');
  });

  after(() => {
    // Leave the reference policy in place whatever happened.
    kubectl(['apply', '-f', POLICY_FILE]);
    kubectl(['delete', 'namespace', otherNs, '--wait=false']);
  });

  test('the workload cannot open TCP to the outside host directly', async () => {
    // Blocked within the enforcement delay, then stays blocked on repeated attempts.
    await eventually('direct path blocked', ENFORCE_WAIT_MS, () => {
      const r = directHttps(REFERENCE_NS, workload);
      return r.code !== 0 ? r : undefined;
    });
    for (let i = 0; i < 3; i++) {
      const r = directHttps(REFERENCE_NS, workload);
      // curl: 28 = timeout (dropped), 7 = refused/unreachable (rejected)
      assert.ok([7, 28].includes(r.code), `direct HTTPS attempt ${i} gave exit ${r.code}: ${r.stdout}${r.stderr}`);
    }
    const nc = execIn(REFERENCE_NS, workload, ['nc', '-w', '3', OUTSIDE_IP, '443']);
    assert.notEqual(nc.code, 0, 'raw TCP (nc) to the outside host succeeded');
  });

  test('the workload resolves egress-guardian-svc through cluster DNS', () => {
    const svcIP = kc(['-n', REFERENCE_NS, 'get', 'svc', 'egress-guardian-svc', '-o', 'jsonpath={.spec.clusterIP}']).trim();
    // busybox nslookup walks the search list and exits 1 if any candidate is NXDOMAIN,
    // so check its answer, then resolve the short name as applications do (glibc,
    // via curl; TCP 8080 to the companion is what the policy allows).
    const ns = execIn(REFERENCE_NS, workload, ['nslookup', 'egress-guardian-svc']);
    assert.match(ns.stdout, /Name:\s+egress-guardian-svc\.production-agents\.svc\.cluster\.local/, ns.stdout);
    assert.ok(ns.stdout.includes(svcIP), `expected ${svcIP} in:\n${ns.stdout}`);
    const r = execIn(REFERENCE_NS, workload, [
      'curl',
      '-s',
      '--noproxy',
      '*',
      '--max-time',
      '5',
      '-o',
      '/dev/null',
      '-w',
      '%{remote_ip}',
      'http://egress-guardian-svc:8080/',
    ]);
    assert.equal(r.stdout.trim(), svcIP, `curl exit ${r.code}: ${r.stderr}`);
  });

  test('the workload fetches the outside site through the companion, intercepted', async () => {
    const r = await eventually('fetch through the companion', ENFORCE_WAIT_MS, () => {
      // HTTPS_PROXY and CURL_CA_BUNDLE come from the Deployment's environment.
      const x = execIn(REFERENCE_NS, workload, ['curl', '-sS', '-v', '--max-time', '10', `https://${OUTSIDE_IP}/`]);
      return x.code === 0 ? x : undefined;
    });
    assert.ok(r.stdout.includes(OUTSIDE_BODY), r.stdout);
    assert.match(r.stderr, /CONNECT 203\.0\.113\.10:443/, 'curl did not use the proxy');
    assert.match(r.stderr, /issuer: .*egress-guardian interception CA/, "TLS was not intercepted by the companion's CA");
    const guardian = firstPod(REFERENCE_NS, 'app=egress-guardian');
    const logs = kc(['-n', REFERENCE_NS, 'logs', guardian]);
    assert.match(logs, /203\.0\.113\.10/, "the companion's log does not show the request");
  });

  test("the workload cannot use the companion's socks port (the policy admits TCP 8080 only)", () => {
    const r = execIn(REFERENCE_NS, workload, [
      'env',
      '-i',
      'curl',
      '-sS',
      '--max-time',
      '8',
      '--socks5-hostname',
      'egress-guardian-svc.production-agents.svc.cluster.local:1080',
      `https://${OUTSIDE_IP}/`,
    ]);
    assert.notEqual(r.code, 0, `socks5 through the companion unexpectedly worked: ${r.stdout}`);
  });

  test("the companion's CA Secret is mounted 0640 with group fsGroup 2000", () => {
    const guardian = firstPod(REFERENCE_NS, 'app=egress-guardian');
    const r = execIn(REFERENCE_NS, guardian, ['stat', '-L', '-c', '%a %g', '/etc/ssl/certs/intermediate.pem']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '640 2000');
    const id = execIn(REFERENCE_NS, guardian, ['id', '-u']);
    assert.equal(id.stdout.trim(), '1000');
  });

  test('Pod Security admission enforces "restricted" in the namespace', () => {
    const r = kubectl(['apply', '--dry-run=server', '-f', '-'], {
      input: `apiVersion: v1
kind: Pod
metadata: {name: not-restricted, namespace: ${REFERENCE_NS}}
spec:
  containers:
    - {name: c, image: localhost/ev-tools:1, imagePullPolicy: Never, securityContext: {privileged: true}}
`,
    });
    assert.notEqual(r.code, 0, 'a privileged pod was admitted');
    assert.match(r.stderr, /violates PodSecurity "restricted/);
  });

  test('finding: the companion cannot resolve names, its policy excludes cluster DNS', () => {
    // allow-companion-internet admits 0.0.0.0/0 except 10.0.0.0/8 (and other private
    // ranges) on 53; CoreDNS's pod IP is in 10.244.0.0/16, so the companion's own
    // lookups (for CONNECT host:port by name) are dropped. Fetching by IP works.
    const r = execIn(REFERENCE_NS, workload, ['curl', '-sS', '--max-time', '15', `https://${OUTSIDE_NAME}/`], 40_000);
    assert.notEqual(r.code, 0, `fetch by name through the companion unexpectedly worked: ${r.stdout}`);
  });

  test('an unlabelled pod in another namespace reaches the outside host directly', async () => {
    const r = await eventually('direct fetch from an unrestricted pod', 30_000, () => {
      const x = directHttps(otherNs, 'unlabelled');
      return x.code === 0 ? x : undefined;
    });
    assert.ok(r.stdout.includes(OUTSIDE_BODY), r.stdout);
  });

  test('deleting restrict-workload-egress opens the direct path, re-applying closes it', async () => {
    kc(['-n', REFERENCE_NS, 'delete', 'networkpolicy', 'restrict-workload-egress']);
    const open = await eventually('direct path open without the policy', ENFORCE_WAIT_MS, () => {
      const r = directHttps(REFERENCE_NS, workload);
      return r.code === 0 ? r : undefined;
    });
    assert.ok(open.stdout.includes(OUTSIDE_BODY), open.stdout);
    kc(['apply', '-f', '-'], { input: readFileSync(POLICY_FILE, 'utf8') });
    await eventually('direct path blocked again', ENFORCE_WAIT_MS, () => {
      const r = directHttps(REFERENCE_NS, workload);
      return r.code !== 0 ? r : undefined;
    });
  });
});
