/**
 * The probe's verdicts, proven true against a real packet filter, proxy and DNS: the scenario
 * matrix of issues 10 and 11, run against each companion (one test file per companion, so the
 * suites run in parallel). The probe runs as the built CLI inside the workload namespace, exactly
 * as it runs inside a probe pod. Needs root.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { CheckResult, Observation, ProbePlan, Verdict } from '../../probes/base/model.js';
import { judge } from '../../probes/runner.js';
import { reportValidator } from '../../src/report/read.js';
import { exitCodeFor, overallVerdict, type Report } from '../../src/report/report.js';
import type { CompanionKind } from './companions.js';
import { builtCli, labSuite, probeInLab } from './harness.js';
import { APP_ENV, labPlan } from './plan.js';

export async function scenarioMatrix(kind: CompanionKind): Promise<void> {
  t.setTimeout(900_000);

  const { lab, scratch } = await labSuite(t, 'evl-scenarios-', { companion: kind });

  const PLAN = labPlan(lab);

  interface ProbeRun {
    code: number | null;
    verdicts: Record<string, Verdict>;
    results: CheckResult[];
    report: Report;
  }

  /** What `plan`'s checks observe from a namespace: the workload's, or another observer's. */
  async function observe(plan: ProbePlan, role: 'co'): Promise<Map<string, Observation>> {
    const run = await probeInLab(lab, scratch, plan, { role });
    return new Map(run.results.map((r) => [r.id, r.observation]));
  }

  async function probe(plan: ProbePlan = PLAN): Promise<ProbeRun> {
    // The application trusts the public roots (here the lab's outside CA), and, when the plan
    // names it, the companion's CA instead.
    const run = await probeInLab(lab, scratch, plan, { env: { ...APP_ENV, NODE_EXTRA_CA_CERTS: lab.outsideCaFile } });
    const verdicts = Object.fromEntries(run.results.map((r) => [r.id, r.verdict]));
    return { code: run.code, verdicts, results: run.results, report: run.report };
  }

  const ids = PLAN.checks.map((c) => c.id);
  const blockedIds = PLAN.checks.filter((c) => c.expect === 'blocked').map((c) => c.id);
  /** Internal targets: only a direct observer (a control pod) can prove them; the companion is not asked. */
  const internalIds = PLAN.checks.filter((c) => c.controlFrom === 'direct').map((c) => c.id);
  const siteProxyIds = ids.filter((id) => id.startsWith('proxy-https/site') || id.startsWith('proxy-env/'));
  const resolverControl = `proxy-https/resolver/${lab.addr.outsideResolver}`;
  const httpsIds = ids.filter((id) => id.startsWith('proxy-https/'));

  /** Every check gets `fallback` unless named in `overrides`; internal targets wait for a control pod. */
  function expected(fallback: Verdict, overrides: Record<string, Verdict> = {}): Record<string, Verdict> {
    return Object.fromEntries(ids.map((id) => [id, overrides[id] ?? (internalIds.includes(id) ? 'inconclusive' : fallback)]));
  }
  const all = (list: string[], v: Verdict): Record<string, Verdict> => Object.fromEntries(list.map((id) => [id, v]));
  const result = (run: ProbeRun, id: string): CheckResult | undefined => run.results.find((r) => r.id === id);

  function explain(run: ProbeRun, id: string): string {
    const r = result(run, id);
    return r ? `${r.verdict}: ${r.observation.outcome} ${r.observation.detail} (${r.reason})` : 'missing';
  }

  function assertVerdicts(t: Test, run: ProbeRun, want: Record<string, Verdict>): void {
    t.same(Object.keys(run.verdicts).sort(), Object.keys(want).sort(), 'every check reported once');
    for (const [id, v] of Object.entries(want)) t.equal(run.verdicts[id], v, `${kind} ${id}: ${explain(run, id)}`);
    t.ok(reportValidator()(run.report), 'the JSON report matches the schema');
  }

  async function withCompanion(mode: 'passthrough' | 'deny' | 'down', body: () => Promise<void>): Promise<void> {
    await lab.setPolicy('article');
    await lab.setCompanion(mode);
    try {
      await body();
    } finally {
      await lab.setCompanion('intercept');
    }
  }

  t.test('every must-fail check has a control, or waits for a direct observer', async (t) => {
    const kinds = new Set(PLAN.checks.map((c) => c.kind));
    for (const k of ['curl', 'dns', 'proxy-env', 'proxy-https', 'tcp', 'udp'] as const) t.ok(kinds.has(k), k);
    for (const c of PLAN.checks.filter((c) => c.expect === 'blocked')) t.ok(c.control ?? c.controlFrom, `${c.id} has a control`);
  });

  t.test(
    `the article's architecture with ${kind}: every check passes but the internal targets, which wait for a control pod`,
    async (t) => {
      await lab.setPolicy('article');
      const run = await probe();
      assertVerdicts(t, run, expected('pass'));
      for (const id of internalIds) t.match(result(run, id)?.reason, /control pod/, `${id} says what would prove it`);
      t.equal(run.code, 3, 'exit 3 until a control pod proves the internal targets');
    },
  );

  t.test('a direct observer outside every egress policy proves the internal targets: then the whole run passes (exit 0)', async (t) => {
    await lab.setPolicy('article');
    const run = await probe();
    // The same dials from the companion's namespace, which no policy filters: a control pod's view.
    const direct = await observe({ version: 1, checks: PLAN.checks.filter((c) => c.controlFrom === 'direct') }, 'co');
    const results = judge(PLAN, new Map(run.results.map((r) => [r.id, r.observation])), direct);
    for (const id of internalIds) t.equal(results.find((r) => r.id === id)?.verdict, 'pass', id);
    t.equal(exitCodeFor(overallVerdict(results)), 0, `exit 0 with ${kind}`);
  });

  t.test('egress wide open: every must-fail check is a bypass', async (t) => {
    await lab.setPolicy('wide-open');
    const run = await probe();
    assertVerdicts(t, run, expected('pass', all(blockedIds, 'fail')));
    t.equal(run.code, 1, 'exit 1 (bypass)');
    t.match(result(run, 'curl/env-cleared/site'), { observation: { outcome: 'http-response' } });
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
    assertVerdicts(t, run, { ...all(blockedIds, 'inconclusive'), ...all([...resolve, ...siteProxyIds, resolverControl], 'fail') });
    t.equal(run.code, 1);
  });

  t.test('DNS open to everywhere: direct queries to the outside resolver on 53 are bypasses, DoT stays blocked', async (t) => {
    await lab.setPolicy('dns-open');
    const run = await probe();
    const r = lab.addr.outsideResolver;
    assertVerdicts(t, run, expected('pass', all([`dns/direct/${r}:53/udp`, `dns/direct/${r}:53/tcp`], 'fail')));
  });

  t.test('companion down: the allowed path fails and no block can be proven', async (t) => {
    await withCompanion('down', async () => {
      const run = await probe();
      const resolve = ids.filter((id) => id.startsWith('dns/resolve/'));
      assertVerdicts(t, run, {
        ...all(blockedIds, 'inconclusive'),
        ...all([...siteProxyIds, resolverControl], 'fail'),
        ...all(resolve, 'pass'),
      });
      t.equal(run.code, 1);
    });
  });

  t.test('companion not intercepting TLS: the interception checks fail with tls-not-intercepted', async (t) => {
    // A bumping companion stops bumping; the others never did, and are now held to interception.
    await withCompanion('passthrough', async () => {
      const run = await probe(labPlan(lab, {}, { expectInterception: true }));
      assertVerdicts(t, run, expected('pass', all(siteProxyIds.concat(resolverControl), 'fail')));
      for (const id of httpsIds) t.match(result(run, id), { finding: { code: 'tls-not-intercepted', failing: true } }, id);
      t.match(
        result(run, `proxy-env/https://${lab.names.outside}/`),
        { observation: { outcome: 'tls-error' } },
        'the application refuses the origin certificate',
      );
      t.equal(run.code, 1);
    });
  });

  t.test('the companion denies the site: the allowed path fails, and nothing aimed at the site passes', async (t) => {
    await withCompanion('deny', async () => {
      const run = await probe();
      const siteBlocked = blockedIds.filter((id) => /\/site(\/|$)/.test(id));
      assertVerdicts(t, run, expected('pass', { ...all(siteProxyIds, 'fail'), ...all(siteBlocked, 'inconclusive') }));
      for (const id of siteProxyIds) t.match(result(run, id), { observation: { class: 'blocked', outcome: 'proxy-refused' } }, id);
      t.equal(run.code, 1);
      // The companion's own refusal is kept as evidence: Squid's error page, Smokescreen's 407.
      const detail = result(run, 'proxy-https/site')?.observation.detail ?? '';
      if (kind === 'squid-bump') t.match(detail, /x-squid-error: ERR_ACCESS_DENIED/, 'Squid served its error page over the bumped TLS');
      if (kind === 'squid') t.match(detail, /CONNECT .* 403/, "Squid's 403 to the CONNECT");
      if (kind === 'smokescreen') t.match(detail, /407/, "Smokescreen's 407");
      if (kind === 'tinyproxy') t.match(detail, /403/, "tinyproxy's filter page");
    });
  });

  t.test('internet host down: checks against it are inconclusive, never pass', async (t) => {
    await lab.setPolicy('article');
    await lab.setOutside(false);
    try {
      const run = await probe();
      const siteIds = ids.filter((id) => /\/site(\/|$)/.test(id) || id.startsWith('proxy-env/'));
      assertVerdicts(t, run, expected('pass', all(siteIds, 'inconclusive')));
      t.equal(run.code, 3, 'exit 3 (inconclusive)');
      // The companion's own answer is the evidence, and a retry never turns it into a timeout.
      // Alone and with time to answer, each companion says the origin is down in its own way.
      const site = { ...PLAN.checks.find((c) => c.id === 'proxy-https/site'), deadlineMs: 6000 } as ProbePlan['checks'][number];
      const alone = result(await probe({ version: 1, checks: [site] }), site.id);
      t.match(alone, { verdict: 'inconclusive', observation: { class: 'indeterminate' } }, `alone: ${alone?.observation.detail}`);
      const evidence: Record<CompanionKind, RegExp> = {
        mitmproxy: /502/,
        'squid-bump': /503.*ERR_CONNECT_FAIL|TLS/,
        squid: /503/,
        smokescreen: /502/,
        tinyproxy: /500/,
      };
      t.match(alone?.observation.detail, evidence[kind], 'the companion says the origin is down');
    } finally {
      await lab.setOutside(true);
    }
  });

  t.test('SOCKS5 sent to the HTTP proxy port: a fail that says so', async (t) => {
    await lab.setPolicy('article');
    const site = PLAN.checks.find((c) => c.id === 'proxy-https/site');
    if (site?.kind !== 'proxy-https') throw new Error('no site control');
    const socks = {
      ...site,
      id: 'proxy-https/site/socks-on-http-port',
      companion: { ...site.companion, url: site.companion.url.replace('http://', 'socks5h://') },
    };
    const run = await probe({ version: 1, checks: [socks] });
    t.match(result(run, socks.id), { verdict: 'fail', observation: { outcome: 'proxy-refused', detail: /not a SOCKS5 proxy/ } });
    t.equal(run.code, 1);
  });

  if (kind === 'mitmproxy') mitmproxyOnly();

  function mitmproxyOnly(): void {
    t.test('DNS recursion: the cluster resolver carries a fresh name to the outside authoritative server', async (t) => {
      await lab.setPolicy('article');
      const plan = labPlan(lab, { recursion: { zone: lab.names.exfilZone, server: lab.addr.authDns } });
      const run = await probe(plan);
      const id = `dns/recursion/${lab.names.exfilZone}`;
      const r = result(run, id);
      t.match(r, { verdict: 'fail', finding: { code: 'dns-recursion-exfiltration', failing: true } });
      const name = String(r?.observation.facts?.queriedName);
      t.match(name, /^ev-[0-9a-f]{16}\.exfil\.test$/);
      t.ok((await lab.authQueries()).includes(name), 'the authoritative server saw the exact name the probe asked');
      t.match(result(run, 'proxy-connect/authoritative/198.51.100.54:53'), { verdict: 'pass', observation: { outcome: 'answered' } });
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
      const run = await lab.exec(['node', builtCli(), 'probe', '--plan', bad]);
      t.equal(run.code, 2);
      t.equal(run.stderr.trim().split('\n').length, 1);
      t.match(run.stderr, /not a literal IP address/);
      t.equal(run.stdout, '');
    });
  }
}
