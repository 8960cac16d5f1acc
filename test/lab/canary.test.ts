/**
 * The enforcement canary against real mitmproxy: with the egress-guardian policy addon every
 * canary passes (the bare address refused at CONNECT, the secret refused in the header, the
 * query or the body) and the allowed path still works; plain mitmproxy lets them through to the
 * origin (fail); plain mitmproxy with the origin down is inconclusive, never a pass. Needs root.
 */
import t from 'tap';
import type { CheckResult } from '../../probes/base/model.js';
import type { Catalogue } from '../../probes/catalogue.js';
import { labSuite, probeInLab } from './harness.js';
import { APP_ENV, labPlan } from './plan.js';

t.setTimeout(600_000);
const { lab, scratch } = await labSuite(t, 'evl-canary-');
const origin = { status: ['2xx'], header: { name: 'x-lab-origin', value: 'outside-https' } };
const site = `https://${lab.names.outside}/`;
const mustDeny: NonNullable<Catalogue['mustDeny']> = [
  { name: 'bare-address', url: `https://${lab.addr.outsideHttps}/`, origin },
  { name: 'key-in-header', url: site, origin, secret: { in: 'header' } },
  { name: 'key-in-query', url: site, origin, secret: { in: 'query' } },
  { name: 'key-in-body', url: site, origin, secret: { in: 'body', name: 'aws_access_key_id' } },
];
const plan = labPlan(lab, { mustDeny });
const canaries = (results: CheckResult[]): CheckResult[] => results.filter((r) => r.kind === 'canary');
const verdicts = (results: CheckResult[]): string => results.map((r) => `${r.id} ${r.verdict} (${r.observation.detail})`).join('\n');

async function probe(): Promise<CheckResult[]> {
  const r = await probeInLab(lab, scratch, plan, { env: { ...APP_ENV, NODE_EXTRA_CA_CERTS: lab.outsideCaFile } });
  t.equal(canaries(r.results).length, mustDeny.length, 'one canary check per mustDeny entry');
  return r.results;
}

t.test('mitmproxy with the policy addon: every canary passes, and nothing else breaks', async (t) => {
  await lab.setCompanion('enforce');
  const results = await probe();
  for (const r of canaries(results)) t.equal(r.verdict, 'pass', `${r.id}: ${r.observation.detail}`);
  t.match(results.find((r) => r.id === 'canary/bare-address')?.observation.detail, /CONNECT/, 'the bare address is refused at CONNECT');
  t.match(results.find((r) => r.id === 'canary/key-in-body')?.observation.detail, /egress-guardian/, 'the secret by the addon, signed');
  // Internal targets stay inconclusive here (no control pod in this run): only a fail would be the addon's doing.
  const others = results.filter((r) => r.kind !== 'canary' && (r.verdict === 'fail' || r.verdict === 'error'));
  t.same(
    others.map((r) => r.id),
    [],
    `nothing else in the plan fails:\n${verdicts(others)}`,
  );
});

t.test('plain mitmproxy lets every canary through to the origin: fail', async (t) => {
  await lab.setCompanion('intercept');
  for (const r of canaries(await probe())) {
    t.equal(r.verdict, 'fail', `${r.id}: ${r.observation.detail}`);
    t.equal(r.observation.class, 'reached');
  }
});

t.test('plain mitmproxy with the origin down: inconclusive, never a pass', async (t) => {
  await lab.setCompanion('intercept');
  await lab.setOutside(false);
  t.teardown(() => lab.setOutside(true));
  for (const r of canaries(await probe())) t.equal(r.verdict, 'inconclusive', `${r.id}: ${r.observation.detail}`);
});
