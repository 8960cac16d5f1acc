/**
 * `egress-verify run` against the lab cluster with the article's reference architecture
 * (manifests/reference): verdicts, the workload left untouched, cleanup after kills, the
 * Job/CronJob manifests, and bad input. Every run passes the lab catalogue
 * (test/cluster/catalogue.yaml): only the lab's outside hosts are ever dialled.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import t from 'tap';
import type { Report } from '../../src/report/report.js';
import {
  apply,
  CLI,
  type CliRun,
  CONTROLLER_NS,
  eventually,
  exitIfClusterSkipped,
  installController,
  jobOutcome,
  KUBECONFIG,
  kc,
  kubectl,
  LAB_CATALOGUE,
  LAB_RUN_BASE,
  PROBE_IMAGE,
  pointAtLab,
  probePods,
  REFERENCE_NS,
  REPO_ROOT,
  run,
  runCli,
  runVersionPod,
  scaleCompanionToZero,
  sleep,
  withWideOpenEgress,
} from './cluster.js';

t.setTimeout(900_000);
exitIfClusterSkipped(t);

const IMAGE = PROBE_IMAGE;
const CATALOGUE = LAB_CATALOGUE;
const NS = REFERENCE_NS;
const scratch = mkdtempSync(join(tmpdir(), 'ev-run-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

const BASE_ARGS = LAB_RUN_BASE;

const egressVerify = (args: string[], timeoutMs = 180_000): CliRun => runCli([...BASE_ARGS, ...args], scratch, timeoutMs);

t.test("the project's own image runs as a pod", async (t) => {
  const name = `ev-version-${Date.now().toString(36)}`;
  t.teardown(() => kubectl(['-n', NS, 'delete', 'pod', name, '--ignore-not-found', '--wait=false']));
  runVersionPod(name);
  const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  t.equal(kc(['-n', NS, 'logs', name]).trim(), version);
});

t.test('the reference architecture passes every check', async (t) => {
  const r = egressVerify(['-n', NS, '--workload', 'deployment/data-processor']);
  t.equal(
    r.code,
    0,
    `exit 0\n${r.stdout
      .split('\n')
      .filter((l) => l.startsWith('not ok'))
      .join('\n')}\n${r.stderr}`,
  );
  t.ok(r.report, 'a JSON report was written');
  t.equal(r.report?.verdict, 'pass');
  t.ok((r.report?.results.length ?? 0) >= 10);
  for (const result of r.report?.results ?? []) {
    t.equal(result.verdict, 'pass', `${result.id}: ${result.observation.detail}`);
    t.match(result, { pod: /^egress-verify-/, node: /.+/ }, 'each result names its pod and node');
  }
  t.match(r.report?.subject, { namespace: NS, workload: 'deployment/data-processor', companion: 'http://egress-guardian-svc:8080' });
  t.same(probePods(), [], 'no probe pod is left behind');
});

t.test('a catalogue with no outside target proves nothing: inconclusive, never a pass', async (t) => {
  const file = join(scratch, 'no-outside.yaml');
  writeFileSync(file, dump({ ...(load(readFileSync(CATALOGUE, 'utf8')) as object), outside: [], resolvers: [] }));
  const r = egressVerify(['-n', NS, '--workload', 'deployment/data-processor', '--catalogue', file]);
  t.equal(r.code, 3, `exit 3: inconclusive\n${r.stderr}`);
  t.equal(r.report?.verdict, 'inconclusive');
  t.ok(
    r.report?.results.some((x) => x.verdict === 'pass'),
    'the allowed path was proven',
  );
  t.notOk(
    r.report?.results.some((x) => x.expect === 'blocked'),
    'and no path that must be blocked was dialled',
  );
  t.ok(
    r.report?.warnings?.some((w) => /^deployment\/data-processor: no check of a path that must be blocked passed/.test(w)),
    'the report says why',
  );
  t.same(probePods(), [], 'no probe pod is left behind');
});

t.test('a plan over the 128 KiB of an environment variable reaches its probe pod (a long CA chain)', async (t) => {
  const pem = Buffer.from(kc(['-n', NS, 'get', 'secret', 'guardian-tls-ca', '-o', 'jsonpath={.data.ca\\.pem}']), 'base64').toString();
  const cert = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/)?.[0] ?? '';
  const chain = join(scratch, 'long-chain.pem');
  writeFileSync(chain, cert.repeat(Math.ceil((140 * 1024) / cert.length)));
  const r = egressVerify(['-n', NS, '--workload', 'deployment/data-processor', '--companion-ca', chain]);
  t.equal(r.code, 0, `exit 0\n${r.stderr}`);
  t.equal(r.report?.verdict, 'pass');
  t.ok(
    (r.report?.results ?? []).some((x) => x.kind === 'proxy-https' && x.verdict === 'pass'),
    'TLS interception checked with it',
  );
  t.same(probePods(), [], 'no probe pod is left behind');
});

t.test('egress wide open: the bypasses are reported and the exit code says so', async (t) => {
  await withWideOpenEgress(async () => {
    const r = egressVerify(['-n', NS, '--workload', 'deployment/data-processor']);
    t.equal(r.code, 1, 'exit 1 (bypass)');
    const failed = (r.report?.results ?? []).filter((x) => x.verdict === 'fail').map((x) => x.id);
    for (const id of ['tcp/site/203.0.113.10:443', 'curl/env-cleared/site', 'curl/noproxy/site', 'dns/direct/198.51.100.53:53/udp']) {
      t.ok(failed.includes(id), `${id} is a bypass`);
    }
  });
});

t.test('the live audit: the reference namespace is clean, a wide-open policy is found and explained in the run', async (t) => {
  const audit = (): { code: number; report: Report } => {
    const file = join(scratch, `audit-${Date.now()}.json`);
    const r = run('node', [CLI, 'audit', '--kubeconfig', KUBECONFIG, '-n', NS, '-o', `json=${file}`], { timeoutMs: 60_000 });
    return { code: r.code, report: JSON.parse(readFileSync(file, 'utf8')) as Report };
  };
  const clean = audit();
  t.equal(clean.code, 0);
  t.same(
    (clean.report.findings ?? []).filter((f) => f.severity !== 'info').map((f) => f.ruleId),
    [],
    'nothing above info in the reference architecture',
  );
  await withWideOpenEgress(async () => {
    const broken = audit();
    t.equal(broken.code, 1, 'exit 1: a finding at or above high');
    t.ok(
      broken.report.findings?.some((f) => f.ruleId === 'wide-egress' && f.object.name === 'restrict-workload-egress'),
      'wide-egress names the policy',
    );
    const r = egressVerify(['-n', NS, '--workload', 'deployment/data-processor']);
    t.equal(r.code, 1);
    t.ok(
      r.report?.findings?.some((f) => f.ruleId === 'wide-egress'),
      "the run's report carries the live audit's explanation",
    );
    t.match(r.stdout, /^# finding: critical wide-egress/m);
  });
});

t.test('the live audit: a companion scaled to zero has no ready endpoint', async (t) => {
  t.teardown(scaleCompanionToZero());
  const file = join(scratch, 'audit-no-companion.json');
  const r = run('node', [CLI, 'audit', '--kubeconfig', KUBECONFIG, '-n', NS, '--fail-on', 'medium', '-o', `json=${file}`], {
    timeoutMs: 60_000,
  });
  t.equal(r.code, 1, 'exit 1 with --fail-on medium');
  const report = JSON.parse(readFileSync(file, 'utf8')) as Report;
  t.match(
    report.findings?.find((f) => f.ruleId === 'companion-no-ready-endpoints'),
    { severity: 'medium', object: { kind: 'Service', name: 'egress-guardian-svc' }, message: /has no ready endpoint/ },
  );
});

t.test('a run leaves the real workload untouched', async (t) => {
  apply(`apiVersion: v1
kind: Service
metadata:
  name: data-processor
  namespace: ${NS}
spec:
  selector:
    role: agent-workload
  ports:
    - port: 80
      targetPort: 8080
`);
  t.teardown(() => kubectl(['-n', NS, 'delete', 'service', 'data-processor', '--ignore-not-found']));
  const snapshot = () => ({
    replicas: kc([
      '-n',
      NS,
      'get',
      'rs',
      '-l',
      'role=agent-workload',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.status.replicas}/{.spec.replicas} {end}',
    ]).trim(),
    pods: kc([
      '-n',
      NS,
      'get',
      'pods',
      '-l',
      'role=agent-workload,!egress-verify.dev/run',
      '-o',
      'jsonpath={.items[*].metadata.name}',
    ]).trim(),
    ready: kc([
      '-n',
      NS,
      'get',
      'endpointslices',
      '-l',
      'kubernetes.io/service-name=data-processor',
      '-o',
      'jsonpath={range .items[*].endpoints[?(@.conditions.ready==true)]}{.targetRef.name} {end}',
    ]).trim(),
  });
  const before = await eventually('the Service to have its ready endpoint', 30_000, () => {
    const s = snapshot();
    return s.ready !== '' ? s : undefined;
  });
  const child = spawn(
    'node',
    [CLI, ...BASE_ARGS, '-n', NS, '--workload', 'deployment/data-processor', '-o', `json=${join(scratch, 'untouched.json')}`],
    {
      stdio: 'ignore',
    },
  );
  const done = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const during = [];
  for (let i = 0; i < 60 && child.exitCode === null; i++) {
    if (probePods().length > 0) during.push(snapshot());
    await sleep(500);
  }
  t.equal(await done, 0);
  t.ok(during.length > 0, 'observed the workload while probe pods existed');
  for (const s of during) t.same(s, before, 'replicas, pods and ready Service endpoints unchanged during the run');
  t.same(snapshot(), before, 'and after it');
});

t.test('probe pods are admitted where Pod Security "restricted" is enforced', async (t) => {
  const label = kc(['get', 'namespace', NS, '-o', 'jsonpath={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}']).trim();
  t.equal(label, 'restricted', `${NS} enforces Pod Security "restricted" (manifests/reference/00-namespace.yaml)`);
  const r = egressVerify(['-n', NS, '--selector', 'role=agent-workload']);
  t.equal(r.code, 0, r.stderr);
  t.ok((r.report?.results.length ?? 0) > 0, 'the probe pod was admitted and ran');
});

function startRun(args: string[]): ChildProcess {
  return spawn('node', [CLI, ...BASE_ARGS, ...args, '-o', `json=${join(scratch, `killed-${Date.now()}.json`)}`], { stdio: 'ignore' });
}

async function untilProbePodExists(): Promise<void> {
  await eventually('a probe pod to exist', 60_000, () => (probePods().length > 0 ? true : undefined), 250);
}

t.test('SIGTERM mid-run: the controller deletes its probe pods before exiting', async (t) => {
  const child = startRun(['-n', NS, '--workload', 'deployment/data-processor']);
  await untilProbePodExists();
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.not(code, 0, 'an interrupted run never exits 0');
  await eventually('probe pods to be gone', 60_000, () => (probePods().length === 0 ? true : undefined));
  t.pass('no probe pod left');
});

t.test('SIGKILL mid-run: the next run sweeps what was left behind', async (t) => {
  const child = startRun(['-n', NS, '--workload', 'deployment/data-processor']);
  await untilProbePodExists();
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  t.ok(probePods().length > 0, 'the killed run left its probe pod');
  await sleep(2000);
  const r = egressVerify(['-n', NS, '--workload', 'deployment/data-processor', '--stale-after', '1']);
  t.equal(r.code, 0);
  t.ok(
    r.report?.warnings?.some((w) => /swept 1 probe pod/.test(w)),
    `warned about the sweep: ${r.report?.warnings?.join('; ')}`,
  );
  await eventually('probe pods to be gone', 60_000, () => (probePods().length === 0 ? true : undefined));
  t.same(kc(['-n', NS, 'get', 'configmaps', '-l', 'egress-verify.dev/run', '-o', 'name']).trim(), '', 'and its run object');
});

const manifest = (file: string): Record<string, unknown> => load(readFileSync(join(REPO_ROOT, file), 'utf8')) as Record<string, unknown>;

t.test('the Job and CronJob manifests run to completion from the controller namespace and leave a report', async (t) => {
  installController();
  t.teardown(() => {
    kubectl([
      '-n',
      CONTROLLER_NS,
      'delete',
      'job',
      'egress-verify-smoke',
      'egress-verify-audit-manual',
      'egress-verify-audit-broken',
      '--ignore-not-found',
    ]);
    kubectl(['-n', CONTROLLER_NS, 'delete', 'cronjob', 'egress-verify-audit', '--ignore-not-found']);
  });
  kubectl(['-n', CONTROLLER_NS, 'delete', 'job', 'egress-verify-smoke', '--ignore-not-found', '--wait=true']);
  apply(dump(pointAtLab(manifest('manifests/job.yaml'))));
  const complete = await jobOutcome('egress-verify-smoke');
  const logs = kc(['-n', CONTROLLER_NS, 'logs', 'job/egress-verify-smoke']);
  t.equal(complete, 'succeeded', logs.slice(-2000));
  t.match(logs, /^TAP version 14/m, 'the Job log holds the TAP report');
  t.match(logs, /# verdict: pass/);

  apply(dump(pointAtLab(manifest('manifests/cronjob.yaml'))));
  kc(['-n', CONTROLLER_NS, 'create', 'job', 'egress-verify-audit-manual', '--from=cronjob/egress-verify-audit']);
  const audit = await jobOutcome('egress-verify-audit-manual');
  t.equal(audit, 'succeeded');

  await withWideOpenEgress(async () => {
    kc(['-n', CONTROLLER_NS, 'create', 'job', 'egress-verify-audit-broken', '--from=cronjob/egress-verify-audit']);
    const broken = await jobOutcome('egress-verify-audit-broken');
    t.equal(broken, 'failed', 'a bypass found by the CronJob is a failed Job');
  });
  t.same(probePods(), [], 'no probe pod is left behind by the in-cluster controller');
});

t.test('bad input: one line, the documented exit code, no probe pod left', async (t) => {
  const cases: [string, string[], number, RegExp][] = [
    [
      'unknown namespace',
      ['-n', 'no-such-namespace', '--workload', 'deployment/data-processor'],
      2,
      /namespace "no-such-namespace" not found/,
    ],
    ['unknown workload', ['-n', NS, '--workload', 'deployment/nope'], 2, /deployment\/nope not found/],
    ['selector that matches nothing', ['-n', NS, '--selector', 'role=nobody'], 2, /matches no workload/],
    [
      'companion Service missing',
      ['-n', NS, '--workload', 'deployment/data-processor', '--companion', 'http://no-such-svc:8080'],
      4,
      /companion Service .*no-such-svc not found/,
    ],
    [
      'malformed catalogue',
      ['-n', NS, '--workload', 'deployment/data-processor', '--catalogue', join(REPO_ROOT, 'package.json')],
      2,
      /invalid catalogue/,
    ],
  ];
  for (const [what, args, code, message] of cases) {
    const r = egressVerify(args);
    t.equal(r.code, code, `${what}: exit ${code}`);
    t.match(r.stderr.trim(), message, what);
    t.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line`);
  }
  t.same(probePods(), []);
});

t.test('bad input: API server unreachable', async (t) => {
  const config = load(readFileSync(KUBECONFIG, 'utf8')) as { clusters: { cluster: { server: string } }[] };
  for (const c of config.clusters) c.cluster.server = 'https://127.0.0.1:1';
  const file = join(scratch, 'unreachable.kubeconfig');
  writeFileSync(file, dump(config));
  const r = run('node', [CLI, 'run', '--kubeconfig', file, '-n', NS, '--workload', 'deployment/data-processor', '--catalogue', CATALOGUE], {
    timeoutMs: 60_000,
  });
  t.equal(r.code, 4);
  t.match(r.stderr, /API server is unreachable/);
  t.equal(r.stderr.trim().split('\n').length, 1);
});

t.test('bad input: RBAC denied', async (t) => {
  apply(kc(['-n', NS, 'create', 'serviceaccount', 'ev-nobody', '--dry-run=client', '-o', 'yaml']));
  t.teardown(() => kubectl(['-n', NS, 'delete', 'serviceaccount', 'ev-nobody', '--ignore-not-found']));
  const token = kc(['-n', NS, 'create', 'token', 'ev-nobody', '--duration=10m']).trim();
  const config = load(readFileSync(KUBECONFIG, 'utf8')) as { users: { user: Record<string, string> }[] };
  for (const u of config.users) u.user = { token };
  const file = join(scratch, 'nobody.kubeconfig');
  writeFileSync(file, dump(config));
  const r = run('node', [CLI, 'run', '--kubeconfig', file, '-n', NS, '--workload', 'deployment/data-processor', '--catalogue', CATALOGUE], {
    timeoutMs: 60_000,
  });
  t.equal(r.code, 4);
  t.match(r.stderr, /RBAC denies what a run needs in namespace production-agents: .*create pods/);
  t.equal(r.stderr.trim().split('\n').length, 1);
});

t.test('bad input: a probe pod rejected by admission', async (t) => {
  apply(`apiVersion: v1
kind: LimitRange
metadata:
  name: ev-tiny
  namespace: ${NS}
spec:
  limits:
    - type: Container
      max:
        memory: 32Mi
`);
  t.teardown(() => kubectl(['-n', NS, 'delete', 'limitrange', 'ev-tiny', '--ignore-not-found']));
  const r = egressVerify(['-n', NS, '--workload', 'deployment/data-processor']);
  t.equal(r.code, 4);
  t.match(r.stderr, /probe pod rejected by admission|forbidden/i);
  t.equal(r.stderr.trim().split('\n').length, 1);
  t.same(probePods(), [], 'nothing left behind');
});

t.test('bad input: a probe pod that never schedules is reported with its reason', async (t) => {
  const node = kc(['get', 'nodes', '-o', 'jsonpath={.items[0].metadata.name}']).trim();
  kc(['cordon', node]);
  t.teardown(() => kubectl(['uncordon', node]));
  const started = Date.now();
  const r = egressVerify(['-n', NS, '--workload', 'deployment/data-processor', '--start-timeout', '10']);
  t.ok(Date.now() - started < 60_000, 'reported within a bounded time');
  t.equal(r.code, 4, `error, never 0: ${r.stderr}`);
  t.match(r.report?.results[0], { verdict: 'error', reason: /Unschedulable/ });
  t.same(probePods(), []);
});

t.test('bad input: an image that is not the probe', async (t) => {
  const r = run(
    'node',
    [
      CLI,
      ...BASE_ARGS.map((a) => (a === IMAGE ? 'localhost/ev-tools:1' : a)),
      '-n',
      NS,
      '--workload',
      'deployment/data-processor',
      '--start-timeout',
      '20',
      '-o',
      'tap',
    ],
    {
      timeoutMs: 120_000,
    },
  );
  t.equal(r.code, 4);
  t.match(r.stdout, /verdict: error/);
  t.same(probePods(), []);
});
