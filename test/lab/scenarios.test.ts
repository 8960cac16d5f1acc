/**
 * The probe's verdicts, proven true against a real packet filter, proxy and DNS: the scenario
 * matrix from the probe issue. The probe runs as the built CLI inside the workload namespace,
 * exactly as it runs inside a probe pod. Needs root.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { CheckResult, ProbePlan, Verdict } from '../../probes/model.js';
import { reportValidator } from '../../src/commands/report.js';
import type { Report } from '../../src/report/report.js';
import { builtCli, labSuite } from './harness.js';
import { APP_ENV, labPlan } from './plan.js';

t.setTimeout(300_000);

const cli = builtCli();
const { lab, scratch } = await labSuite(t, 'evl-scenarios-');

const PLAN = labPlan(lab);

interface ProbeRun {
  code: number | null;
  verdicts: Record<string, Verdict>;
  results: CheckResult[];
  report: Report;
}

async function probe(plan: ProbePlan = PLAN): Promise<ProbeRun> {
  const planFile = join(scratch, `plan-${Date.now()}.json`);
  const reportFile = join(scratch, `report-${Date.now()}.json`);
  writeFileSync(planFile, JSON.stringify(plan));
  const run = await lab.exec(['node', cli, 'probe', '--plan', planFile, '-o', 'jsonl', '-o', `json=${reportFile}`], {
    env: APP_ENV,
    timeoutMs: 30_000,
  });
  const lines = run.stdout.trim().split('\n');
  const results = lines.map((l) => JSON.parse(l) as CheckResult & { type: string }).filter((l) => l.type === 'result');
  const report = JSON.parse(execFileSync('cat', [reportFile], { encoding: 'utf8' })) as Report;
  const verdicts = Object.fromEntries(results.map((r) => [r.id, r.verdict]));
  return { code: run.code, verdicts, results, report };
}

const ids = PLAN.checks.map((c) => c.id);
const blockedIds = PLAN.checks.filter((c) => c.expect === 'blocked').map((c) => c.id);
const proxyIds = ['proxy-https/site', 'proxy-https/site/socks5h', `proxy-env/https://${lab.names.outside}/`];

/** Every check gets `fallback` unless named in `overrides`. */
function expected(fallback: Verdict, overrides: Record<string, Verdict> = {}): Record<string, Verdict> {
  return Object.fromEntries(ids.map((id) => [id, overrides[id] ?? fallback]));
}
const all = (list: string[], v: Verdict): Record<string, Verdict> => Object.fromEntries(list.map((id) => [id, v]));

function explain(run: ProbeRun, id: string): string {
  const r = run.results.find((x) => x.id === id);
  return r ? `${r.verdict}: ${r.observation.outcome} ${r.observation.detail} (${r.reason})` : 'missing';
}

function assertVerdicts(t: Test, run: ProbeRun, want: Record<string, Verdict>): void {
  t.same(Object.keys(run.verdicts).sort(), Object.keys(want).sort(), 'every check reported once');
  for (const [id, v] of Object.entries(want)) t.equal(run.verdicts[id], v, `${id}: ${explain(run, id)}`);
  t.ok(reportValidator()(run.report), 'the JSON report matches the schema');
}

t.test('the plan covers every check kind and every must-fail check has a control', async (t) => {
  t.same([...new Set(PLAN.checks.map((c) => c.kind))].sort(), ['curl', 'dns', 'proxy-connect', 'proxy-env', 'proxy-https', 'tcp', 'udp']);
  for (const c of PLAN.checks.filter((c) => c.expect === 'blocked')) t.ok(c.control, `${c.id} has a control`);
});

t.test("the article's architecture: every check passes", async (t) => {
  await lab.setPolicy('article');
  await lab.setCompanion('intercept');
  const run = await probe();
  assertVerdicts(t, run, expected('pass'));
  t.equal(run.code, 0, 'exit 0');
});

t.test('egress wide open: every must-fail check is a bypass', async (t) => {
  await lab.setPolicy('wide-open');
  const run = await probe();
  assertVerdicts(t, run, expected('pass', all(blockedIds, 'fail')));
  t.equal(run.code, 1, 'exit 1 (bypass)');
  t.match(
    run.results.find((r) => r.id === 'curl/env-cleared/site'),
    { observation: { outcome: 'http-response' } },
  );
});

t.test('443 open only: checks to port 443 fail, the rest pass', async (t) => {
  await lab.setPolicy('https-only');
  const run = await probe();
  const on443 = blockedIds.filter((id) => id.startsWith('curl/') || /^tcp\/.*:443$/.test(id));
  t.ok(on443.length >= 4);
  assertVerdicts(t, run, expected('pass', all(on443, 'fail')));
  t.equal(run.code, 1);
});

t.test('DNS exception missing: cluster DNS fails, so does the companion by name; nothing blocked can be proven', async (t) => {
  await lab.setPolicy('no-dns');
  const run = await probe();
  const resolve = ids.filter((id) => id.startsWith('dns/resolve/'));
  const controls = ids.filter((id) => id.startsWith('proxy-connect/'));
  assertVerdicts(t, run, {
    ...all(blockedIds, 'inconclusive'),
    ...all([...resolve, ...proxyIds, ...controls], 'fail'),
  });
  t.equal(run.code, 1);
});

t.test('DNS open to everywhere: direct queries to the outside resolver on 53 are bypasses, DoT stays blocked', async (t) => {
  await lab.setPolicy('dns-open');
  const run = await probe();
  const r = lab.addr.outsideResolver;
  assertVerdicts(t, run, expected('pass', all([`dns/direct/${r}:53/udp`, `dns/direct/${r}:53/tcp`], 'fail')));
});

t.test('companion down: the allowed path fails and no block can be proven', async (t) => {
  await lab.setPolicy('article');
  await lab.setCompanion('down');
  try {
    const run = await probe();
    const controls = ids.filter((id) => id.startsWith('proxy-connect/'));
    const resolve = ids.filter((id) => id.startsWith('dns/resolve/'));
    assertVerdicts(t, run, {
      ...all(blockedIds, 'inconclusive'),
      ...all([...proxyIds, ...controls], 'fail'),
      ...all(resolve, 'pass'),
    });
    t.equal(run.code, 1);
  } finally {
    await lab.setCompanion('intercept');
  }
});

t.test('companion not intercepting TLS: the interception check fails with that finding', async (t) => {
  await lab.setPolicy('article');
  await lab.setCompanion('passthrough');
  try {
    const run = await probe();
    assertVerdicts(t, run, expected('pass', all(proxyIds, 'fail')));
    for (const id of ['proxy-https/site', 'proxy-https/site/socks5h']) {
      t.match(
        run.results.find((r) => r.id === id),
        { finding: { code: 'tls-not-intercepted', failing: true } },
      );
    }
    t.match(
      run.results.find((r) => r.id === proxyIds[2]),
      { observation: { outcome: 'tls-error' } },
      'the application refuses the origin certificate',
    );
  } finally {
    await lab.setCompanion('intercept');
  }
});

t.test('internet host down: checks against it are inconclusive, never pass', async (t) => {
  await lab.setPolicy('article');
  await lab.setOutside(false);
  try {
    const run = await probe();
    const siteIds = ids.filter((id) => /\/site(\/|$)/.test(id) || id.startsWith('proxy-env/'));
    assertVerdicts(t, run, expected('pass', all(siteIds, 'inconclusive')));
    t.equal(run.code, 3, 'exit 3 (inconclusive)');
  } finally {
    await lab.setOutside(true);
  }
});

t.test('DNS recursion: the cluster resolver carries a fresh name to the outside authoritative server', async (t) => {
  await lab.setPolicy('article');
  const plan = labPlan(lab, { recursion: { zone: lab.names.exfilZone, server: lab.addr.authDns } });
  const run = await probe(plan);
  const id = `dns/recursion/${lab.names.exfilZone}`;
  const result = run.results.find((r) => r.id === id);
  t.match(result, { verdict: 'fail', finding: { code: 'dns-recursion-exfiltration', failing: true } });
  const name = String(result?.observation.facts?.queriedName);
  t.match(name, /^ev-[0-9a-f]{16}\.exfil\.test$/);
  t.ok((await lab.authQueries()).includes(name), 'the authoritative server saw the exact name the probe asked');
  t.equal(run.verdicts['proxy-connect/authoritative/198.51.100.54:53'], 'pass');
});

t.test('bad input: one line on stderr and the usage exit code', async (t) => {
  const bad = join(scratch, 'bad.json');
  writeFileSync(
    bad,
    JSON.stringify({
      version: 1,
      checks: [{ id: 'x', kind: 'tcp', expect: 'blocked', host: 'outside.test', port: 443 }],
    }),
  );
  const run = await lab.exec(['node', cli, 'probe', '--plan', bad]);
  t.equal(run.code, 2);
  t.equal(run.stderr.trim().split('\n').length, 1);
  t.match(run.stderr, /not a literal IP address/);
  t.equal(run.stdout, '');
});
