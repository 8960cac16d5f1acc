import t from 'tap';
import { expandCatalogue } from './catalogue.js';
import { applyExceptions } from './exceptions.js';
import { validatePlan } from './plan.js';

const plan = expandCatalogue(
  { version: 1, outside: [{ name: 'site', url: 'https://203.0.113.10/', tcpPorts: [443, 80] }] },
  { url: 'http://companion:8080' },
);
const exception = {
  workload: 'deployment/pinned',
  url: 'https://203.0.113.10/',
  reason: 'pins its TLS certificate',
  expires: '2026-12-31',
};
const before = new Date('2026-12-31T23:59:00Z');
const after = new Date('2027-01-01T00:00:00Z');

t.test('an active exception turns the workload’s direct dials to its destination into "reachable directly"', async (t) => {
  const { plan: sanctioned, rows } = applyExceptions(plan, [exception], 'deployment/pinned', before);
  validatePlan(sanctioned, 'sanctioned');
  const turned = ['curl/env-cleared/site', 'curl/noproxy/site', 'tcp/site/203.0.113.10:443'];
  t.same(rows, [{ ...exception, status: 'active', checks: turned }]);
  for (const c of sanctioned.checks) {
    if (turned.includes(c.id)) t.match(c, { expect: 'reachable', control: undefined }, `${c.id}: reachable, no control`);
    else
      t.same(
        c,
        plan.checks.find((x) => x.id === c.id),
        `${c.id}: unchanged (another port, or through the companion)`,
      );
  }
});

t.test('another workload, or past its last day: nothing changes, and the expired one is listed as such', async (t) => {
  t.same(applyExceptions(plan, [exception], 'deployment/other', before), { plan, rows: [] });
  const expired = applyExceptions(plan, [exception], 'deployment/pinned', after);
  t.same(expired.plan, plan, 'every direct dial expects blocked again');
  t.equal(expired.rows[0]?.status, 'expired');
  t.same(
    applyExceptions(plan, [{ ...exception, expires: undefined }], 'deployment/pinned', after).rows[0]?.status,
    'active',
    'no expiry: always active',
  );
});
