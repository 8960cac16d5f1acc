/**
 * IPv6 against a real packet filter (ip6tables in the lab's router), lab targets only
 * (2001:db8::/32): an HTTPS origin on its IPv6 literal (TCP 443 and 80, UDP 443, ICMP echo) and
 * a resolver on its IPv6 address (UDP/TCP 53, DoT 853), each must-fail check controlled by the
 * same IPv6 address through the companion, or by a direct observer. Then the workload loses its
 * IPv6 address, as a pod on a single-stack cluster: every IPv6 check is a skip, never a pass.
 * Needs root.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { CheckResult, ProbePlan } from '../../probes/base/model.js';
import { ipv6OnlyChecks } from '../../probes/ipv6.js';
import { judge } from '../../probes/runner.js';
import { overallVerdict, type Report } from '../../src/report/report.js';
import { builtCli, labSuite } from './harness.js';
import { APP_ENV, labPlan } from './plan.js';

t.setTimeout(600_000);

const cli = builtCli();
const { lab, scratch } = await labSuite(t, 'evl-ipv6-');
/** The lab's origins echo their service's name: outside-https on 443, outside-http on 80, both by this prefix. */
const origin = (service: string) => ({ status: ['2xx'], body: `"service":"${service}` });

const PLAN: ProbePlan = labPlan(lab, {
  outside: [
    {
      name: 'site-v6',
      url: `https://[${lab.addr.outsideHttps6}]/`,
      tcpPorts: [443, 80],
      udpPorts: [443],
      udpResponder: true,
      icmp: true,
      origin: origin('outside-http'),
    },
  ],
  resolvers: [
    {
      address: lab.addr.outsideResolver6,
      transports: ['udp', 'tcp', 'tls'],
      url: `https://[${lab.addr.outsideResolver6}]/`,
      origin: origin('resolver-https'),
    },
  ],
  internal: [],
  application: [],
});
const v6Ids = ipv6OnlyChecks(PLAN);
const mustFail = PLAN.checks.filter((c) => c.expect === 'blocked');

async function probe(role: 'wl' | 'co' = 'wl'): Promise<{ code: number | null; report: Report }> {
  const planFile = join(scratch, `plan-${role}-${Date.now()}.json`);
  const reportFile = join(scratch, `report-${role}-${Date.now()}.json`);
  writeFileSync(planFile, JSON.stringify(PLAN));
  const run = await lab.exec(['node', cli, 'probe', '--plan', planFile, '-o', `json=${reportFile}`], {
    env: { ...APP_ENV, NODE_EXTRA_CA_CERTS: lab.outsideCaFile },
    role,
    timeoutMs: 90_000,
  });
  return { code: run.code, report: JSON.parse(readFileSync(reportFile, 'utf8')) as Report };
}

const observations = (results: readonly CheckResult[]) => new Map(results.map((r) => [r.id, r.observation]));
const explain = (r: CheckResult | undefined): string =>
  r ? `${r.verdict}: ${r.observation.outcome} ${r.observation.detail} (${r.reason})` : 'missing';

t.test('the plan dials IPv6 only: every must-fail check sends IPv6, with an IPv6 control or a direct observer', async (t) => {
  t.ok(mustFail.length >= 9, `${mustFail.length} must-fail checks`);
  for (const c of mustFail) t.ok(v6Ids.has(c.id), `${c.id} sends IPv6`);
  for (const kind of ['tcp', 'udp', 'icmp', 'curl', 'dns'] as const)
    t.ok(
      mustFail.some((c) => c.kind === kind),
      kind,
    );
});

t.test("the article's policy over IPv6: every check blocked and proven (ICMP by the direct observer)", async (t) => {
  await lab.setPolicy('article');
  const workload = await probe();
  for (const r of workload.report.results) {
    const want = r.kind === 'icmp' ? 'inconclusive' : 'pass';
    t.equal(r.verdict, want, `${r.id}: ${explain(r)}`);
  }
  // The same dials from the companion's namespace, which no policy filters: a control pod's view.
  const direct = await probe('co');
  const judged = judge(PLAN, observations(workload.report.results), observations(direct.report.results));
  for (const r of judged) t.equal(r.verdict, 'pass', `${r.id} with the direct observer: ${explain(r)}`);
  t.equal(overallVerdict(judged), 'pass');
});

t.test('egress wide open over IPv6: every must-fail check is a bypass', async (t) => {
  await lab.setPolicy('wide-open');
  const run = await probe();
  for (const r of run.report.results.filter((r) => r.expect === 'blocked')) t.equal(r.verdict, 'fail', `${r.id}: ${explain(r)}`);
  t.equal(run.code, 1, 'exit 1 (bypass)');
});

t.test('443 open to anywhere: the IPv6 checks on 443 are bypasses, the others stay blocked', async (t) => {
  await lab.setPolicy('https-only');
  const run = await probe();
  for (const r of run.report.results.filter((r) => r.expect === 'blocked')) {
    const on443 = r.kind === 'curl' || /\]?:443\/tcp$/.test(r.target);
    if (r.kind === 'icmp') continue;
    t.equal(r.verdict, on443 ? 'fail' : 'pass', `${r.id}: ${explain(r)}`);
  }
});

t.test('a workload with no IPv6 address: every IPv6 check is a skip that says why, never a pass, wide open or not', async (t) => {
  await lab.setWorkloadIpv6(false);
  t.teardown(() => lab.setWorkloadIpv6(true));
  for (const policy of ['article', 'wide-open'] as const) {
    await lab.setPolicy(policy);
    const run = await probe();
    for (const r of run.report.results) {
      if (v6Ids.has(r.id))
        t.match(r, { verdict: 'skip', observation: { outcome: 'no-ipv6', durationMs: 0 }, reason: /no IPv6 address/ }, `${policy} ${r.id}`);
      else t.equal(r.verdict, 'pass', `${policy} ${r.id}: the IPv4 checks still run: ${explain(r)}`);
    }
    t.equal(run.report.summary.skip, v6Ids.size, `${policy}: the summary counts the skips`);
    // Every must-fail check of the plan dials IPv6: with none proven blocked, nothing shows egress is shut.
    t.equal(run.report.verdict, 'inconclusive', `${policy}: the skips are listed, not passed, and no block is proven`);
    t.match(run.report.warnings, [/no check of a path that must be blocked passed/], `${policy}: the report says why`);
    t.equal(run.code, 3, `${policy}: exit 3`);
  }
});
