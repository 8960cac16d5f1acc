/**
 * `run --evidence` against the lab cluster: the bundle a real run writes verifies, holds what was
 * tested as the API showed it, and every kind of tampering fails verification naming the file.
 */
import { generateKeyPairSync } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t from 'tap';
import { REDACTED } from '../../src/evidence/snapshot.js';
import type { Report } from '../../src/report/report.js';
import { browserSkip, launchChromium, openFile, WAIT_MS } from '../html/browser.js';
import { CLI, exitIfClusterSkipped, kc, kubectl, LAB_RUN_ARGS, probePods, REFERENCE_NS, REPO_ROOT, run } from './cluster.js';

t.setTimeout(600_000);
exitIfClusterSkipped(t);

const NS = REFERENCE_NS;
const scratch = mkdtempSync(join(tmpdir(), 'ev-evidence-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

const signer = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
const pem = (k: { export: (o: { type: 'pkcs8' | 'spki'; format: 'pem' }) => string | Buffer }, type: 'pkcs8' | 'spki') =>
  k.export({ type, format: 'pem' }).toString();
const PRIVATE = join(scratch, 'evidence.key');
const PUBLIC = join(scratch, 'evidence.pub');
const WRONG_PUBLIC = join(scratch, 'stranger.pub');
writeFileSync(PRIVATE, pem(signer.privateKey, 'pkcs8'));
writeFileSync(PUBLIC, pem(signer.publicKey, 'spki'));
writeFileSync(WRONG_PUBLIC, pem(stranger.publicKey, 'spki'));

const RUN = [...LAB_RUN_ARGS, '-n', NS, '--workload', 'deployment/data-processor', '-o', 'tap'];
const cli = (args: string[], timeoutMs = 180_000) => run('node', [CLI, ...args], { timeoutMs });
const verify = (dir: string, key?: string) => cli(['evidence', 'verify', dir, ...(key ? ['--key', key] : [])], 30_000);

function filesOf(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const full = join(d, e);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}

const json = (dir: string, file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8'));

// The signing key comes from a Secret, as the CronJob takes it.
kubectl(['-n', NS, 'delete', 'secret', 'egress-verify-evidence-key', '--ignore-not-found']);
kc(['-n', NS, 'create', 'secret', 'generic', 'egress-verify-evidence-key', `--from-file=evidence.key=${PRIVATE}`]);
t.teardown(() => kubectl(['-n', NS, 'delete', 'secret', 'egress-verify-evidence-key', '--ignore-not-found']));

const BUNDLE = join(scratch, 'bundle');
const signedRun = cli([...RUN, '--evidence', BUNDLE, '--evidence-key', 'secret/egress-verify-evidence-key']);

t.test('a real run writes a bundle that verifies with the right key', async (t) => {
  t.equal(signedRun.code, 0, signedRun.stderr);
  t.same(filesOf(BUNDLE), [
    'manifest.json',
    'manifest.sig',
    'report.html',
    'report.json',
    'report.junit.xml',
    'report.tap',
    'run.json',
    'snapshot/companion.json',
    'snapshot/networkpolicies.json',
    'snapshot/nodes.json',
    'snapshot/probe-pods.json',
    'snapshot/workloads.json',
    'summary.md',
  ]);
  const v = verify(BUNDLE, PUBLIC);
  t.equal(v.code, 0, v.stdout + v.stderr);
  t.match(v.stdout, /signature: valid, by SHA256:/);
  t.match(v.stdout, /report: PASS, 10 pass/);
  t.match(v.stdout, /\nverified\n$/);
  t.same(probePods(), [], 'no probe pod is left behind');
});

t.test('the bundle holds what was tested, as the API showed it', async (t) => {
  const runRecord = json(BUNDLE, 'run.json');
  const kubeSystemUid = kc(['get', 'namespace', 'kube-system', '-o', 'jsonpath={.metadata.uid}']).trim();
  t.match(runRecord.cluster, { server: /^https:\/\//, kubeSystemUid, version: /^v1\./ });
  t.match(runRecord.tool, {
    name: 'egress-verify',
    version: /^\d+\.\d+\.\d+/,
    image: 'localhost/egress-verify:0.1.0',
    imageId: /^sha256:[0-9a-f]{64}$/,
  });
  t.ok(Date.parse(runRecord.startedAt) < Date.parse(runRecord.finishedAt), 'start before end');
  t.same(runRecord.gaps, [], 'nothing was left unread');

  const report = json(BUNDLE, 'report.json') as Report;
  t.equal(report.subject?.runId, runRecord.runId);

  const policies = json(BUNDLE, 'snapshot/networkpolicies.json').items.map((p: { metadata: { name: string } }) => p.metadata.name);
  const live = kc(['-n', NS, 'get', 'networkpolicies', '-o', 'jsonpath={.items[*].metadata.name}']).trim().split(' ');
  t.same([...policies].sort(), [...live].sort(), 'every NetworkPolicy of the namespace');
  t.ok(
    json(BUNDLE, 'snapshot/networkpolicies.json').items.every(
      (p: { metadata: Record<string, unknown> }) => !('managedFields' in p.metadata),
    ),
  );
  t.same(report.subject?.networkPolicies?.map((p) => p.name).sort(), [...live].sort(), 'and the report carries them too');

  const companion = json(BUNDLE, 'snapshot/companion.json').items.map((o: { kind: string; metadata: { name: string } }) => o.kind);
  t.ok(companion.includes('Service') && companion.includes('EndpointSlice') && companion.includes('Deployment'), companion.join(','));
  const companionEnv = json(BUNDLE, 'snapshot/companion.json')
    .items.filter((o: { kind: string }) => o.kind === 'Deployment')
    .flatMap((d: { spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } } }) =>
      d.spec.template.spec.containers.flatMap((c) => c.env ?? []),
    );
  t.ok(companionEnv.length > 0, "the companion's env is in the snapshot");
  t.ok(
    companionEnv.every((e: { value?: string }) => e.value === undefined || e.value === REDACTED),
    "the companion's literal env values are redacted",
  );
  t.match(json(BUNDLE, 'snapshot/workloads.json').items, [{ kind: 'Deployment', metadata: { name: 'data-processor' } }]);
  const workloadEnv = json(BUNDLE, 'snapshot/workloads.json').items[0].spec.template.spec.containers[0].env;
  t.match(workloadEnv, [{ name: 'HTTPS_PROXY', value: 'http://egress-guardian-svc:8080' }], 'proxy variables are evidence: kept');
  t.notMatch(readFileSync(join(BUNDLE, 'snapshot/workloads.json'), 'utf8'), /last-applied-configuration/, 'the spec is not repeated');

  const pods = json(BUNDLE, 'snapshot/probe-pods.json').items;
  t.equal(pods.length, 1);
  t.match(pods[0], { kind: 'Pod', metadata: { labels: { role: 'agent-workload' } }, spec: { automountServiceAccountToken: false } });
  const node = pods[0].spec.nodeName;
  t.match(json(BUNDLE, 'snapshot/nodes.json').items, [{ kind: 'Node', metadata: { name: node } }], 'the node it ran on');
  t.notOk('images' in json(BUNDLE, 'snapshot/nodes.json').items[0].status, 'without the image list');
});

t.test("the bundle's HTML report renders in Chromium, offline, with the matrix", { skip: browserSkip() ?? false }, async (t) => {
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const { page, url, requests } = await openFile(browser, join(BUNDLE, 'report.html'));
  t.match(await page.locator('#verdict').getAttribute('class'), /verdict-pass/);
  const matrix = page.locator('#matrix');
  const report = json(BUNDLE, 'report.json') as Report;
  t.equal(await matrix.locator('tbody tr').count(), report.results.length, 'a row per check');
  t.same(await matrix.locator('thead th.pod').count(), 1, 'a column for the one probe pod');
  t.equal(await matrix.locator('tbody td.cell-pass').count(), report.results.length, 'every cell a pass');
  t.match(await page.locator('#policies').textContent(), /restrict-workload-egress/, 'the policies as they were');
  t.same(requests, [url], 'it loaded nothing but itself');
  mkdirSync(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
  await page.screenshot({ path: join(REPO_ROOT, 'test-artifacts/evidence-report.png'), fullPage: true, timeout: WAIT_MS });
});

/** A copy of the sealed bundle to spoil. */
let copies = 0;
function copy(): string {
  const dir = join(scratch, `copy-${copies++}`);
  cpSync(BUNDLE, dir, { recursive: true });
  return dir;
}

t.test('one changed byte in any file fails verification, naming the file', async (t) => {
  for (const file of filesOf(BUNDLE)) {
    const dir = copy();
    const data = readFileSync(join(dir, file));
    const at = Math.floor(data.length / 2);
    data[at] = (data[at] ?? 0) ^ 0x01;
    writeFileSync(join(dir, file), data);
    const v = verify(dir, PUBLIC);
    t.equal(v.code, 1, `${file}: exit 1`);
    t.match(v.stdout, new RegExp(`FAILED ${file.replace('.', '\\.')}: `), `${file} is named`);
  }
});

t.test('a removed file, an added file, or the wrong key fails, naming the file', async (t) => {
  const removed = copy();
  unlinkSync(join(removed, 'snapshot/networkpolicies.json'));
  let v = verify(removed, PUBLIC);
  t.equal(v.code, 1);
  t.match(v.stdout, /FAILED snapshot\/networkpolicies\.json: removed/);

  const added = copy();
  writeFileSync(join(added, 'snapshot/extra-policy.json'), '{}\n');
  v = verify(added, PUBLIC);
  t.equal(v.code, 1);
  t.match(v.stdout, /FAILED snapshot\/extra-policy\.json: added/);

  v = verify(copy(), WRONG_PUBLIC);
  t.equal(v.code, 1);
  t.match(v.stdout, /FAILED manifest\.sig: signature does not verify with key SHA256:/);
  t.match(v.stdout, /NOT verified: 1 problem/);
});

t.test('without a key the bundle is hash-chained, and verify says it is unsigned', async (t) => {
  const dir = join(scratch, 'unsigned');
  const r = cli([...RUN, '--evidence', dir]);
  t.equal(r.code, 0, r.stderr);
  t.notOk(existsSync(join(dir, 'manifest.sig')));
  const v = verify(dir);
  t.equal(v.code, 0, v.stdout);
  t.match(v.stdout, /unsigned: integrity only, chain [0-9a-f]{64}/);
  const withKey = verify(dir, PUBLIC);
  t.equal(withKey.code, 1, 'an auditor who expects a signature is told there is none');
  t.match(withKey.stdout, /FAILED manifest\.sig: missing: the bundle is unsigned/);
});

t.test('bad evidence options: one line, exit 2, no probe pod started', async (t) => {
  const rsa = join(scratch, 'rsa.key');
  writeFileSync(rsa, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const cases: [string, string[], RegExp][] = [
    ['a bundle directory that is not empty', ['--evidence', BUNDLE], /--evidence .* is not empty/],
    ['a key without a bundle', ['--evidence-key', PRIVATE], /--evidence-key needs --evidence/],
    [
      'a key that is not Ed25519',
      ['--evidence', join(scratch, 'never-1'), '--evidence-key', rsa],
      /is a rsa key; evidence is signed with Ed25519/,
    ],
    [
      'a Secret that does not exist',
      ['--evidence', join(scratch, 'never-2'), '--evidence-key', 'secret/no-such-key'],
      /secret production-agents\/no-such-key not found \(--evidence-key\)/,
    ],
  ];
  for (const [what, args, message] of cases) {
    const r = cli([...RUN, ...args], 60_000);
    t.equal(r.code, 2, `${what}: exit 2`);
    t.match(r.stderr.trim(), message, what);
    t.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line`);
  }
  t.same(probePods(), []);
  const missing = verify(join(scratch, 'no-such-bundle'));
  t.equal(missing.code, 2);
  t.match(missing.stderr, /is not a directory/);
});
