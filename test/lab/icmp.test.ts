/**
 * The ICMP check against a real packet filter: the lab's internet host answers echo; the router
 * drops what the article's policy does not admit. Only a direct observer (the lab's companion
 * namespace, outside the workload's filter, as a control pod would be) proves the host answers,
 * so the verdict is judged with its observations. Needs root.
 */
import t from 'tap';
import type { CheckResult, ProbePlan } from '../../probes/base/model.js';
import { judge } from '../../probes/runner.js';
import { labSuite, probeInLab } from './harness.js';

t.setTimeout(240_000);

const { lab, scratch } = await labSuite(t, 'evl-icmp-');

const PLAN: ProbePlan = {
  version: 1,
  checks: [
    { id: 'icmp/site', kind: 'icmp', expect: 'blocked', host: lab.addr.outsideHttps, deadlineMs: 3000, controlFrom: 'direct' },
    { id: 'icmp/site6', kind: 'icmp', expect: 'blocked', host: lab.addr.outsideHttps6, deadlineMs: 3000, controlFrom: 'direct' },
  ],
};

async function observe(role: 'wl' | 'co'): Promise<CheckResult[]> {
  return (await probeInLab(lab, scratch, PLAN, { role })).results;
}

const byId = (results: CheckResult[]) => new Map(results.map((r) => [r.id, r.observation]));

t.test('the article policy drops echo: blocked, proven by the direct observer', async (t) => {
  await lab.setPolicy('article');
  const workload = await observe('wl');
  for (const r of workload) {
    t.equal(r.verdict, 'inconclusive', `${r.id}: without a direct observer nothing proves the host answers echo`);
    t.equal(r.observation.class, 'blocked', `${r.id}: ${r.observation.detail}`);
  }
  const direct = await observe('co');
  for (const r of direct) t.equal(r.observation.outcome, 'answered', `${r.id} from the observer: ${r.observation.detail}`);
  for (const r of judge(PLAN, byId(workload), byId(direct))) t.equal(r.verdict, 'pass', `${r.id}: ${r.reason}`);
});

t.test('with no policy the echo reply is a bypass', async (t) => {
  await lab.setPolicy('wide-open');
  const workload = await observe('wl');
  for (const r of workload) t.equal(r.verdict, 'fail', `${r.id}: ${r.reason} (${r.observation.detail})`);
});

t.test('the host down: blocked from the workload, but the observer proves nothing, so inconclusive', async (t) => {
  await lab.setPolicy('article');
  await lab.setOutside(false);
  t.teardown(() => lab.setOutside(true));
  const results = judge(PLAN, byId(await observe('wl')), byId(await observe('co')));
  for (const r of results) t.equal(r.verdict, 'inconclusive', `${r.id}: ${r.reason}`);
});
