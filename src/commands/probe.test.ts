import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { ProbePlan } from '../../probes/base/model.js';
import { resultsFromLog } from '../../probes/wire.js';
import { cli, modulesLoaded, repoRoot } from '../../test/cli.js';
import { ExitCode } from '../base/errors.js';

const scratch = mkdtempSync(join(tmpdir(), 'ev-probe-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

t.test('a probe given its plan, as in a probe pod, compiles no schema and loads neither the catalogue nor a SOCKS agent', async (t) => {
  const compiler = (modules: readonly string[]): string[] =>
    modules.filter((m) => /\/node_modules\/ajv\/dist\/(2020|core|ajv)\.js$|\/probes\/catalogue\.ts$/.test(m));
  // The control: expanding the catalogue loads its module, and the hook sees it.
  const expanded = modulesLoaded(['probe', '--print-plan', '--companion', 'http://egress-guardian-svc:8080']);
  t.equal(expanded.status, ExitCode.pass);
  t.same(
    compiler(expanded.modules).map((m) => m.replace(/.*\/probes\//, 'probes/')),
    ['probes/catalogue.ts'],
    'the catalogue seen where it is loaded, its schema precompiled too',
  );
  const plan = join(scratch, 'plan.json');
  writeFileSync(
    plan,
    JSON.stringify({ version: 1, checks: [{ id: 'tcp', kind: 'tcp', expect: 'blocked', host: '192.0.2.1', port: 443, deadlineMs: 100 }] }),
  );
  const given = modulesLoaded(['probe', '--plan', plan, '--print-plan']);
  t.equal(given.status, ExitCode.pass, 'the plan is valid');
  t.ok(
    given.modules.some((m) => m.endsWith('/probes/plan-validate.generated.ts')),
    'validated by the precompiled validator',
  );
  t.same(compiler(given.modules), [], 'no ajv compiler, no catalogue');
  // The checks are loaded (undici, for proxy-env, the hook sees); the SOCKS agent only for a SOCKS proxy.
  t.ok(given.modules.some((m) => m.includes('/node_modules/undici/')));
  t.notOk(
    given.modules.some((m) => m.includes('/node_modules/socks-proxy-agent/')),
    'no SOCKS agent',
  );
});

t.test('on the wire (JSON lines on stdout) the probe says companion-done first; in other formats it does not', async (t) => {
  const plan = join(scratch, 'loopback-plan.json');
  // A closed loopback port: refused at once, no traffic leaves the machine.
  writeFileSync(
    plan,
    JSON.stringify({ version: 1, checks: [{ id: 'tcp', kind: 'tcp', expect: 'blocked', host: '127.0.0.1', port: 9, deadlineMs: 500 }] }),
  );
  const wire = cli(['probe', '--plan', plan]);
  const types = wire.stdout
    .trimEnd()
    .split('\n')
    .map((l) => (JSON.parse(l) as { type: string }).type);
  t.same(types, ['companion-done', 'result', 'summary']);
  const tap = cli(['probe', '--plan', plan, '-o', 'tap']);
  t.match(tap.stdout, /^TAP version 14\n/);
  t.notMatch(tap.stdout, /companion-done/);
  const file = join(scratch, 'out.jsonl');
  const toFile = cli(['probe', '--plan', plan, '-o', `jsonl=${file}`]);
  t.equal(toFile.stdout, '');
  t.notMatch(readFileSync(file, 'utf8'), /companion-done/);
});

t.test('a probe whose allowed path stays silent waits, then reports it on a wire the controller can read', async (t) => {
  // A loopback port with nothing on it: the companion that never answers.
  const server = createServer();
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  await new Promise((resolve) => server.close(resolve));
  const companion = { url: `http://127.0.0.1:${port}` };
  const plan: ProbePlan = {
    version: 1,
    checks: [
      { id: 'via', kind: 'proxy-connect', proof: 'banner', expect: 'reachable', host: '127.0.0.1', port: 9, companion, deadlineMs: 500 },
      { id: 'raw', kind: 'tcp', expect: 'blocked', host: '127.0.0.1', port: 9, control: 'via', deadlineMs: 500 },
    ],
  };
  const file = join(scratch, 'plan.json');
  writeFileSync(file, JSON.stringify(plan));
  const started = performance.now();
  // The default log level, as in a probe pod.
  const r = cli(['probe', '--plan', file, '--path-wait-ms', '1500'], { env: { EGRESS_VERIFY_LOG_LEVEL: undefined } });
  const tookMs = performance.now() - started;
  t.equal(r.stderr, '', 'nothing on stderr: the log API would mix it into the wire');
  t.ok(tookMs >= 1500, `the probe waited for the allowed path (${Math.round(tookMs)} ms)`);
  const results = resultsFromLog(`${r.stdout}${r.stderr}`, plan, { pod: 'p' });
  t.same(
    results.map((x) => `${x.id}:${x.verdict}`),
    ['via:fail', 'raw:inconclusive'],
    'the silent path is a broken allowed path, and nothing is proven blocked without it',
  );
});

t.test('the first dial comes no earlier than the settle after the process started', async (t) => {
  const accepted: number[] = [];
  const server = createServer((s) => {
    accepted.push(performance.now());
    s.destroy();
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  t.teardown(() => server.close());
  const plan = join(scratch, 'settle-plan.json');
  writeFileSync(
    plan,
    JSON.stringify({ version: 1, checks: [{ id: 'tcp', kind: 'tcp', expect: 'blocked', host: '127.0.0.1', port, deadlineMs: 500 }] }),
  );
  const spawned = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli.ts'), 'probe', '--plan', plan, '--settle-ms', '2500'], {
    cwd: repoRoot,
    stdio: 'ignore',
    env: { ...process.env, EGRESS_VERIFY_LOG_LEVEL: 'silent' },
  });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  t.equal(code, 1, 'the connect was reached: a fail');
  t.equal(accepted.length, 1);
  t.ok((accepted[0] ?? 0) - spawned >= 2500, `dialled ${Math.round((accepted[0] ?? 0) - spawned)} ms after the spawn`);
});
