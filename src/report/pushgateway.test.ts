/**
 * --pushgateway against a real Pushgateway on loopback (Debian's prometheus-pushgateway, from
 * scripts/setup.sh): what it stores is read back from its own /metrics.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { CheckResult, Verdict } from '../../probes/base/model.js';
import { ExitCode, InfrastructureError } from '../base/errors.js';
import { packageRoot } from '../base/package-root.js';
import { groupUrl, parsePushgateway, pushMetrics } from './pushgateway.js';
import { buildReport, type RunReport } from './report.js';

const PUSHGATEWAY = '/usr/bin/prometheus-pushgateway';
const dir = mkdtempSync(join(tmpdir(), 'ev-pushgateway-'));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startPushgateway(): Promise<{ url: string; child: ChildProcess }> {
  if (!existsSync(PUSHGATEWAY)) throw new Error(`no ${PUSHGATEWAY}: run scripts/setup.sh`);
  const port = await freePort();
  // No persistence file: nothing of the test outlives it.
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', PUSHGATEWAY, `--web.listen-address=127.0.0.1:${port}`, '--persistence.file='], {
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`pushgateway exited ${child.exitCode}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return { url, child };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error('pushgateway not ready within 10 s');
}

const gateway = await startPushgateway();
t.teardown(() => {
  gateway.child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

const stored = async (): Promise<string[]> =>
  (await (await fetch(`${gateway.url}/metrics`)).text()).split('\n').filter((l) => l.startsWith('egress_verify_'));

const result = (workload: string, verdict: Verdict): CheckResult => ({
  id: 'tcp/a',
  kind: 'tcp',
  expect: 'blocked',
  target: '203.0.113.10:443/tcp',
  verdict,
  reason: verdict,
  observation: { outcome: 'timeout', class: 'blocked', durationMs: 1000, detail: '' },
  workload,
});

const runOf = (namespace: string, results: CheckResult[]): RunReport => ({
  ...buildReport('run', results, new Date('2026-11-27T00:00:00Z'), new Date('2026-11-27T00:00:05Z')),
  subject: { namespace, workload: [...new Set(results.map((r) => r.workload))].join(', ') },
});

t.test('a push is stored under job egress-verify and its target; the next push of that target replaces it', async (t) => {
  const base = parsePushgateway(gateway.url);
  await pushMetrics(base, runOf('prod', [result('deployment/a', 'pass'), result('deployment/b', 'fail')]));
  await pushMetrics(base, runOf('other', [result('deployment/z', 'pass')]));
  let lines = await stored();
  t.ok(
    lines.includes(
      'egress_verify_check_verdict{instance="",job="egress-verify",kind="tcp",target="prod/deployment/a, deployment/b",verdict="pass",workload="deployment/a"} 1',
    ),
    lines.join('\n'),
  );
  t.ok(
    lines.some((l) =>
      l.startsWith('egress_verify_run_verdict{command="run",instance="",job="egress-verify",target="other/deployment/z",verdict="pass"} 1'),
    ),
  );

  // The same target, one workload fewer (the group key is the run's subject, so push it as that).
  await pushMetrics(base, {
    ...runOf('prod', [result('deployment/a', 'pass')]),
    subject: { namespace: 'prod', workload: 'deployment/a, deployment/b' },
  });
  lines = await stored();
  t.notOk(
    lines.some((l) => l.includes('workload="deployment/b"')),
    'PUT replaced the group: a check gone from the run does not linger',
  );
  t.ok(
    lines.some((l) => l.includes('workload="deployment/z"')),
    "another target's group is untouched",
  );
});

t.test('a URL that names its own grouping key is used as given; credentials go in a header only', async (t) => {
  const given = parsePushgateway(`${gateway.url}/metrics/job/nightly/env/lab`);
  t.equal(groupUrl(given, runOf('x', [])).pathname, '/metrics/job/nightly/env/lab');
  t.equal(groupUrl(parsePushgateway(`${gateway.url}/pgw/`), runOf('x', [])).pathname, '/pgw/metrics/job/egress-verify/target@base64/eA');
  const seen: { url: string; auth: string | null }[] = [];
  const recording: typeof fetch = async (input, init) => {
    seen.push({ url: String(input), auth: new Headers(init?.headers).get('authorization') });
    return new Response('', { status: 202 });
  };
  await pushMetrics(parsePushgateway('http://ci:s%3Acret@127.0.0.1:9/'), runOf('x', []), recording);
  t.same(seen, [{ url: 'http://127.0.0.1:9/metrics/job/egress-verify/target@base64/eA', auth: `Basic ${btoa('ci:s:cret')}` }]);
});

t.test('bad URLs are usage errors; a refused or failed push is one infrastructure line', async (t) => {
  t.throws(() => parsePushgateway('pushgateway:9091'), { message: /must be http:\/\/ or https:\/\// });
  t.throws(() => parsePushgateway('not a url'), { message: /is not a URL/ });
  const dead = parsePushgateway(`http://127.0.0.1:${await freePort()}`);
  await t.rejects(pushMetrics(dead, runOf('x', [])), {
    name: 'InfrastructureError',
    message: /could not push to http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/,
  });
  // The Pushgateway refuses a grouping key whose label name is not one.
  const invalid = parsePushgateway(`${gateway.url}/metrics/job/x/9-not-a-label/y`);
  const refused = await pushMetrics(invalid, runOf('x', [])).catch((err: unknown) => err);
  t.ok(refused instanceof InfrastructureError, String(refused));
  t.match((refused as Error).message, /answered 400/);
});

const cli = (args: string[]) =>
  // The built CLI (npx tsc -p tsconfig.json first), as users run it.
  spawnSync(process.execPath, [join(packageRoot, 'dist/src/cli.js'), ...args], {
    cwd: packageRoot,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, EGRESS_VERIFY_LOG_LEVEL: 'silent' },
  });

t.test('CLI: audit --pushgateway pushes what -o openmetrics writes; a failed push never looks green', async (t) => {
  const file = join(dir, 'textfile', 'egress-verify.prom');
  const broken = cli(['audit', '-f', 'test/fixtures/audit/broken', '--pushgateway', gateway.url, '-o', `openmetrics=${file}`]);
  t.equal(broken.status, ExitCode.fail, broken.stderr);
  const written = readFileSync(file, 'utf8');
  t.match(written, /^egress_verify_run_verdict\{command="audit",verdict="fail"\} 1$/m);
  t.ok(
    (await stored()).some((l) =>
      l.startsWith('egress_verify_run_verdict{command="audit",instance="",job="egress-verify",target="audit",verdict="fail"} 1'),
    ),
  );

  const deadUrl = `http://127.0.0.1:${await freePort()}`;
  const good = cli(['audit', '-f', 'test/fixtures/audit/good', '--pushgateway', deadUrl]);
  t.equal(good.status, ExitCode.infrastructure, 'a pass that alerting never heard of exits 4');
  t.match(good.stderr, /^egress-verify: --pushgateway: could not push to http:\/\/127\.0\.0\.1:\d+: .*\n$/);
  t.match(good.stdout, /^ok /m, 'the report is written before the push');
  t.equal(cli(['audit', '-f', 'test/fixtures/audit/broken', '--pushgateway', deadUrl]).status, ExitCode.fail, 'a fail stays a fail');
  const usage = cli(['audit', '-f', 'test/fixtures/audit/good', '--pushgateway', 'ftp://x']);
  t.equal(usage.status, ExitCode.usage);
  t.equal(usage.stderr, 'egress-verify: --pushgateway "ftp://x" must be http:// or https://\n');
});
