import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { cli, modulesLoaded } from '../../test/cli.js';
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
