/**
 * egress-verify and netchecks (PyPI `netcheck`, the closest alternative) side by side on the same
 * network-namespace lab scenarios. Both run inside the lab's workload namespace (egress-verify's
 * control pod in the companion's, as `run --control-namespace` puts it outside every egress
 * policy), so only lab addresses are ever dialled. Prints each tool's verdict per scenario against
 * the right answer, and the wall times. Needs root (the lab). `npm run compare:netchecks`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProbePlan, Verdict } from '../probes/base/model.js';
import { parsePorts } from '../probes/base/ports.js';
import { judge } from '../probes/runner.js';
import { withPortSweeps } from '../probes/sweep.js';
import { overallVerdict } from '../src/report/report.js';
import { probeInLab } from '../test/lab/harness.js';
import { type CompanionMode, type Lab, type LabPolicy, startLab } from '../test/lab/lab.js';
import { APP_ENV, labPlan } from '../test/lab/plan.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const netcheck = execFileSync('bash', [join(root, 'scripts/netchecks.sh')], { encoding: 'utf8' }).trim();

interface Scenario {
  name: string;
  policy: LabPolicy;
  companion: CompanionMode;
  outsideUp: boolean;
  /**
   * What a correct tool says: any path around the companion, or an allowed path that does not
   * work or is not inspected, is a fail; nothing proven either way is inconclusive.
   */
  right: Verdict;
}

const SCENARIOS: readonly Scenario[] = [
  { name: "the article's policy", policy: 'article', companion: 'intercept', outsideUp: true, right: 'pass' },
  { name: 'egress wide open', policy: 'wide-open', companion: 'intercept', outsideUp: true, right: 'fail' },
  { name: 'TCP 443 open to anywhere', policy: 'https-only', companion: 'intercept', outsideUp: true, right: 'fail' },
  { name: 'one extra rule: TCP 8443 to anywhere', policy: 'odd-port', companion: 'intercept', outsideUp: true, right: 'fail' },
  { name: 'DNS open to any resolver', policy: 'dns-open', companion: 'intercept', outsideUp: true, right: 'fail' },
  { name: 'DNS exception missing (nothing works)', policy: 'no-dns', companion: 'intercept', outsideUp: true, right: 'fail' },
  { name: 'companion tunnels TLS uninspected', policy: 'article', companion: 'passthrough', outsideUp: true, right: 'fail' },
  { name: 'companion refuses the site', policy: 'article', companion: 'deny', outsideUp: true, right: 'fail' },
  { name: 'companion down', policy: 'article', companion: 'down', outsideUp: true, right: 'fail' },
  { name: 'internet host down', policy: 'article', companion: 'intercept', outsideUp: false, right: 'inconclusive' },
];

/**
 * What a netchecks user writes for "no direct egress", after its docs: rules that expect to fail.
 * Run with no proxy in the environment, as a netchecks probe pod has none.
 */
function denyRules(lab: Lab): object {
  const rules = [
    { name: 'https-direct', type: 'http', url: `https://${lab.names.outside}/`, timeout: 2, expected: 'fail' },
    ...[443, 80].map((port) => ({ name: `tcp-${port}-direct`, type: 'tcp', host: lab.addr.outsideHttps, port, timeout: 2, expected: 'fail' })),
    { name: 'dns-direct', type: 'dns', server: lab.addr.outsideResolver, host: `${lab.names.outside}.`, timeout: 2, expected: 'fail' },
  ];
  return { assertions: [{ name: 'no-direct-egress', rules }] };
}

/**
 * The same user's positive rule: the site answers through the companion. netcheck has no proxy
 * setting per rule (requests takes HTTPS_PROXY from the environment), so it is a second run; and
 * it cannot be given the companion's CA, so the certificate goes unverified.
 */
function viaCompanionRule(lab: Lab): object {
  const rule = { name: 'https-via-companion', type: 'http', url: `https://${lab.names.outside}/`, timeout: 5, 'verify-tls-cert': false };
  return { assertions: [{ name: 'through-companion', rules: [rule] }] };
}

type NetcheckVerdict = 'pass' | 'fail' | 'crash';

interface Timed<T> {
  verdict: T;
  seconds: number;
}

async function timed<T>(fn: () => Promise<T>): Promise<Timed<T>> {
  const start = performance.now();
  const verdict = await fn();
  return { verdict, seconds: (performance.now() - start) / 1000 };
}

/** netcheck prints JSON with a status per rule; anything else (a traceback) is a crash. */
async function runNetcheck(lab: Lab, file: string, env: NodeJS.ProcessEnv): Promise<NetcheckVerdict> {
  const run = await lab.exec([netcheck, 'run', '--config', file], { env, timeoutMs: 60_000 });
  try {
    const out = JSON.parse(run.stdout) as { assertions: { results: { status: string }[] }[] };
    return out.assertions.every((a) => a.results.every((r) => r.status === 'pass')) ? 'pass' : 'fail';
  } catch {
    return 'crash';
  }
}

/**
 * The probe in the workload's namespace and the control pod's direct dials in the companion's,
 * at once as `run` starts them, judged together as the controller judges them.
 */
async function runEgressVerify(lab: Lab, scratch: string, plan: ProbePlan): Promise<Verdict> {
  const direct: ProbePlan = { version: 1, checks: plan.checks.filter((c) => c.controlFrom === 'direct') };
  const [probe, control] = await Promise.all([
    probeInLab(lab, scratch, plan, { env: { ...APP_ENV, NODE_EXTRA_CA_CERTS: lab.outsideCaFile } }),
    probeInLab(lab, scratch, direct, { role: 'co' }),
  ]);
  const observations = (r: typeof probe) => new Map(r.results.map((x) => [x.id, x.observation]));
  return overallVerdict(judge(plan, observations(probe), observations(control)));
}

const mark = (got: string, right: Verdict): string => `${got}${got === right ? '' : ' ✗'}`;
const falsePass = (got: string, right: Verdict): boolean => got === 'pass' && right !== 'pass';

const lab = await startLab();
const scratch = mkdtempSync(join(tmpdir(), 'evl-compare-'));
try {
  const base = labPlan(lab);
  const site = base.checks.find((c) => c.id === 'proxy-https/site');
  if (site?.kind !== 'proxy-https') throw new Error('the lab plan has no proxy-https/site');
  // As its user runs it: the default catalogue plus `--ports top-100`.
  const plan = withPortSweeps(base, [lab.addr.outsideHttps], parsePorts('top-100'), site.companion);
  const denyFile = join(scratch, 'netcheck-deny.json');
  const positiveFile = join(scratch, 'netcheck-positive.json');
  writeFileSync(denyFile, JSON.stringify(denyRules(lab)));
  writeFileSync(positiveFile, JSON.stringify(viaCompanionRule(lab)));
  const rows: string[] = [];
  const wrong = { ev: 0, deny: 0, both: 0 };
  const falsePasses = { ev: 0, deny: 0, both: 0 };
  for (const s of SCENARIOS) {
    await lab.setPolicy(s.policy);
    await lab.setCompanion(s.companion);
    await lab.setOutside(s.outsideUp);
    const ev = await timed(() => runEgressVerify(lab, scratch, plan));
    const deny = await timed(() => runNetcheck(lab, denyFile, {}));
    const positive = await timed(() => runNetcheck(lab, positiveFile, APP_ENV));
    const both: NetcheckVerdict = [deny.verdict, positive.verdict].includes('crash')
      ? 'crash'
      : deny.verdict === 'pass' && positive.verdict === 'pass'
        ? 'pass'
        : 'fail';
    for (const [k, got] of [['ev', ev.verdict], ['deny', deny.verdict], ['both', both]] as const) {
      if (got !== s.right) wrong[k]++;
      if (falsePass(got, s.right)) falsePasses[k]++;
    }
    rows.push(
      `| ${s.name} | ${s.right} | ${mark(ev.verdict, s.right)} (${ev.seconds.toFixed(1)} s) | ${mark(deny.verdict, s.right)} (${deny.seconds.toFixed(1)} s) | ${mark(both, s.right)} (${(deny.seconds + positive.seconds).toFixed(1)} s) |`,
    );
  }
  const n = SCENARIOS.length;
  const tally = (k: keyof typeof wrong) => `${n - wrong[k]}/${n} right, ${falsePasses[k]} false pass(es)`;
  console.log(
    [
      '| lab scenario | right answer | egress-verify | netcheck, deny rules | netcheck, deny rules + a rule through the companion |',
      '| --- | --- | --- | --- | --- |',
      ...rows,
      `| **total** | | ${tally('ev')} | ${tally('deny')} | ${tally('both')} |`,
    ].join('\n'),
  );
  console.log(`\n✗: not the right answer. ${netcheck.split('/').at(-3)}; egress-verify with --ports top-100 and a control pod.`);
  process.exitCode = wrong.ev === 0 ? 0 : 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
  await lab.close();
}
