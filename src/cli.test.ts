// Bad input as a user gives it: one line on stderr, exit 2 naming the input, before any work.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { cli, repoRoot } from '../test/cli.js';
import { ExitCode } from './base/errors.js';
import { probeCommand } from './commands/probe.js';
import { reportDiffCommand, reportRenderCommand } from './commands/report.js';
import { parseRunSettings, type RunOptions } from './commands/run-settings.js';

// Some tests start the binary: on a loaded shared machine that takes minutes.
t.setTimeout(900_000);
const scratch = mkdtempSync(join(tmpdir(), 'ev-cli-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

// Nothing listens on port 1: a run that got as far as the cluster would fail with exit 4, not 2.
const kubeconfig = join(scratch, 'kubeconfig');
writeFileSync(
  kubeconfig,
  `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`,
);
const aDir = join(scratch, 'a-dir');
mkdirSync(aDir);
const aFile = join(scratch, 'a-file');
writeFileSync(aFile, 'x');
// Loopback only, so a probe that ran anyway reaches nothing outside this machine.
const plan = join(scratch, 'plan.json');
writeFileSync(
  plan,
  JSON.stringify({ version: 1, checks: [{ id: 't', kind: 'tcp', expect: 'blocked', host: '127.0.0.1', port: 9, deadlineMs: 200 }] }),
);

const runOpts = (extra: Partial<RunOptions>): RunOptions => ({
  kubeconfig,
  namespace: 'ns',
  allNamespaces: false,
  workload: ['deployment/app'],
  extend: [],
  imagePullPolicy: 'IfNotPresent',
  perNode: false,
  grouping: true,
  hostNetworkProbe: false,
  inPod: false,
  companionConcurrency: '32',
  startTimeout: '60',
  staleAfter: '600',
  settle: '2',
  pathWait: '20',
  output: [],
  reportDir: join(scratch, 'reports'),
  record: false,
  history: '10',
  receipts: false,
  ...extra,
});
/** In-process: every local input is checked while the settings are parsed, before the cluster. */
function runRefused(t: Test, extra: Partial<RunOptions>, names: RegExp): void {
  t.throws(() => parseRunSettings(runOpts(extra), { env: {}, now: () => new Date() }), { exitCode: ExitCode.usage, message: names });
}

function usage(t: Test, r: ReturnType<typeof cli>, names: RegExp): void {
  t.equal(r.status, ExitCode.usage, r.stderr);
  t.match(r.stderr, names);
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
}

t.test('run checks every local input before it contacts the cluster', async (t) => {
  runRefused(t, { catalogue: join(scratch, 'none.yaml') }, /cannot read catalogue .*none\.yaml: ENOENT/);
  runRefused(t, { extend: [aFile] }, /a-file: invalid catalogue/);
  runRefused(t, { companionCa: join(scratch, 'ca.pem') }, /cannot read companion CA .*ca\.pem/);
  runRefused(t, { companionCa: aFile }, /companion CA .*a-file is not a PEM certificate/);
  runRefused(t, { evidence: join(scratch, 'bundle'), evidenceKey: join(scratch, 'key.pem') }, /cannot read evidence key .*key\.pem/);
  runRefused(t, { workload: ['foo'] }, /--workload "foo" must be KIND\/NAME/);
  runRefused(t, { receiptFormat: 'GET (\\S+)' }, /--receipt-format: the regular expression needs a named group/);
  runRefused(t, { workload: ['deployment/Not_A_Name'] }, /--workload "deployment\/Not_A_Name"/);
  runRefused(t, { workload: [], selector: '!!!' }, /-l\/--selector: cannot parse selector term "!!!"/);
  runRefused(
    t,
    { workload: [], selector: 'a=b', namespace: undefined, namespaceSelector: '!!!' },
    /--namespace-selector: cannot parse selector term "!!!"/,
  );
  runRefused(t, { ports: 'http' }, /--ports: /);
  runRefused(t, { companion: 'not a url' }, /companion "not a url" is not a URL/);
});

t.test('output paths are checked before any work, for probe, run and report render', async (t) => {
  const probe = (output: string) => probeCommand({ plan, extend: [], printPlan: false, output: [output], settleMs: '0', pathWaitMs: '0' });
  await t.rejects(probe(`json=${aDir}`), { exitCode: ExitCode.usage, message: `-o json=${aDir}: ${aDir} is a directory` });
  await t.rejects(probe(`junit=${join(aFile, 'x.xml')}`), {
    exitCode: ExitCode.usage,
    message: /a-file\/x\.xml: a part of it is not a directory/,
  });
  runRefused(t, { output: [`json=${aDir}`] }, /is a directory/);
  runRefused(t, { reportDir: join(aFile, 'reports') }, /a part of it is not a directory/);
  runRefused(t, { evidence: join(aFile, 'bundle') }, /--evidence .*a part of it is not a directory/);
  const sample = join(repoRoot, 'reports/samples/run-pass.json');
  t.throws(() => reportRenderCommand(sample, [`sarif=${aDir}`]), { exitCode: ExitCode.usage, message: /is a directory/ });
  t.throws(() => reportRenderCommand(sample, [`tap=${join(aFile, 'deep', 'r.tap')}`]), { message: /a part of it is not a directory/ });
});

t.test('report render - reads the report from stdin', async (t) => {
  const r = cli(['report', 'render', '-', '-o', 'tap'], { input: readFileSync(join(repoRoot, 'reports/samples/run-pass.json'), 'utf8') });
  t.equal(r.status, ExitCode.pass, r.stderr);
  t.match(r.stdout, /^TAP version/);
  usage(t, cli(['report', 'render', '-'], { input: 'not json' }), /report - is not JSON/);
  t.throws(() => reportDiffCommand('-', '-', []), { exitCode: ExitCode.usage, message: /stdin/ });
});

t.test('devices and endless streams are read with a byte limit, not until memory runs out', async (t) => {
  usage(t, cli(['audit', '-f', '/dev/zero']), /manifest \/dev\/zero is over 52428800 bytes; refused/);
  usage(t, cli(['probe', '--plan', '/dev/zero']), /plan \/dev\/zero is over/);
  usage(
    t,
    cli(['probe', '--companion', 'http://127.0.0.1:9', '--catalogue', '/dev/zero', '--print-plan']),
    /catalogue \/dev\/zero is over/,
  );
});
