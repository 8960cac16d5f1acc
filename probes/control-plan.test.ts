import t from 'tap';
import type { Check, ProbePlan } from './base/model.js';
import { controlPlan, directlyControllable } from './control-plan.js';
import { validatePlan } from './plan.js';

const companion = { url: 'http://egress-guardian-svc:8080' };
const base = { deadlineMs: 1000 };
const checks: Check[] = [
  { ...base, id: 'ctl', kind: 'proxy-connect', expect: 'reachable', host: '203.0.113.10', port: 80, companion, proof: 'http' },
  { ...base, id: 'meta', kind: 'tcp', expect: 'blocked', host: '169.254.169.254', port: 80, controlFrom: 'direct' },
  { ...base, id: 'quic', kind: 'udp', expect: 'blocked', host: '203.0.113.10', port: 443 },
  { ...base, id: 'curl', kind: 'curl', expect: 'blocked', url: 'https://outside.test/', mode: 'env-cleared', address: '203.0.113.10' },
  {
    ...base,
    id: 'dot',
    kind: 'dns',
    mode: 'direct',
    expect: 'blocked',
    server: '203.0.113.53',
    transport: 'udp',
    port: 53,
    name: 'x.test',
  },
  { ...base, id: 'resolve', kind: 'dns', mode: 'resolve', expect: 'blocked', name: 'x.test' },
  { ...base, id: 'rec', kind: 'dns', mode: 'recursion', expect: 'blocked', zone: 'z.test' },
  { ...base, id: 'env', kind: 'proxy-env', expect: 'reachable', url: 'https://outside.test/' },
];
const plan: ProbePlan = { version: 1, checks };

t.test('the control pod sends exactly the must-fail checks that dial a fixed endpoint', async (t) => {
  t.same(
    checks.filter(directlyControllable).map((c) => c.id),
    ['meta', 'quic', 'curl', 'dot'],
  );
  const direct = controlPlan(plan);
  t.same(
    direct.checks.map((c) => c.id),
    ['meta', 'quic', 'curl', 'dot'],
  );
  for (const c of direct.checks) {
    t.equal(c.expect, 'reachable', `${c.id}: expected reachable, so retried within its deadline`);
    t.notOk('control' in c || 'controlFrom' in c, `${c.id}: it is the control, it has none`);
  }
  t.match(direct.checks[0], { kind: 'tcp', host: '169.254.169.254', port: 80 }, 'same address, port and protocol');
  t.match(direct.checks[2], { kind: 'curl', address: '203.0.113.10' }, 'a pinned address stays pinned');
  t.doesNotThrow(() => validatePlan(direct, 'control plan'), 'a valid plan for the probe');
});
