import t from 'tap';
import { judgeSweep, withPortSweeps } from '../sweep.js';
import type { Observation, TcpSweepCheck } from './model.js';
import { foldPorts, parsePorts, sweepFacts } from './ports.js';

t.test('port specs: lists, ranges, named sets', async (t) => {
  t.same(parsePorts('443, 80,8000-8003,80'), [80, 443, 8000, 8001, 8002, 8003]);
  t.equal(parsePorts('top-100').length, 100);
  t.equal(parsePorts('top-1000').length, 1000);
  t.ok(parsePorts('top-1000').includes(8443) && parsePorts('top-100').includes(8443));
  t.equal(parsePorts('all').length, 65535);
  t.same(parsePorts('top-100,1').length, 101);
  for (const bad of ['', '0', '65536', '10-5', 'top-5', '1-', 'a']) t.throws(() => parsePorts(bad), /is not a port/, `rejects "${bad}"`);
});

t.test('folding', async (t) => {
  t.equal(foldPorts([5, 1, 2, 3, 7, 8, 3]), '1-3,5,7-8');
  t.equal(foldPorts([]), '');
  t.same(parsePorts(foldPorts(parsePorts('top-1000'))), parsePorts('top-1000'), 'folding round-trips');
});

const check: TcpSweepCheck = {
  id: 'tcp-sweep/203.0.113.10',
  kind: 'tcp-sweep',
  expect: 'blocked',
  host: '203.0.113.10',
  ports: '1-10',
  companion: { url: 'http://companion:8080' },
  portDeadlineMs: 1000,
  concurrency: 4,
  companionConcurrency: 2,
  deadlineMs: 5000,
  control: 'proxy-https/site',
};
const observed = (direct: [number, Observation['outcome']][], tunnel: [number, string][] = []): Observation => ({
  outcome: 'timeout',
  class: 'blocked',
  durationMs: 1,
  detail: '',
  facts: sweepFacts(new Map(direct), new Map(tunnel)),
});
const all = (outcome: Observation['outcome']): [number, Observation['outcome']][] => parsePorts(check.ports).map((p) => [p, outcome]);

t.test('each port through the truth table, folded; open ports named one by one', async (t) => {
  t.match(judgeSweep(check, observed(all('timeout')), 'proven-host'), { verdict: 'pass', reason: /^pass 1-10 \(/ });
  const open = observed(all('timeout').map(([p, o]) => [p, p === 4 || p === 7 ? 'connected' : o]));
  const v = judgeSweep(check, open, 'proven-host');
  t.equal(v?.verdict, 'fail');
  t.match(v?.reason, /^open TCP port\(s\) 4, 7: fail 4, 7 \(bypass[^)]*\); pass 1-3,5-6,8-10/);
  t.match(judgeSweep(check, observed(all('timeout')), 'absent'), { verdict: 'inconclusive' }, 'no control: nothing proven');
  t.match(judgeSweep(check, observed(all('timeout')), 'not-proven'), { verdict: 'inconclusive' });
});

t.test('a refusal needs the same port proven through the companion', async (t) => {
  const refused = all('refused');
  t.match(
    judgeSweep(
      check,
      observed(refused, [
        [1, 'reached'],
        [2, 'reached'],
      ]),
      'proven-host',
    ),
    {
      verdict: 'inconclusive',
      reason: /inconclusive 3-10 .*; pass 1-2/,
    },
  );
  const tunnels = parsePorts(check.ports).map((p): [number, string] => [p, 'reached']);
  t.match(judgeSweep(check, observed(refused, tunnels), 'proven-host'), { verdict: 'pass' });
});

t.test('a port never dialled is an error, never a pass', async (t) => {
  const partial = observed(all('timeout').filter(([p]) => p < 9));
  t.match(judgeSweep(check, partial, 'proven-host'), { verdict: 'error', reason: /error 9-10 \(not dialled/ });
  t.equal(judgeSweep(check, { ...partial, facts: {} }, 'proven-host'), undefined, 'no sweep facts: the truth table decides');
});

t.test('sweeps are added per outside address, against its control, with a deadline for the waves', async (t) => {
  const control = { id: 'proxy-https/site', kind: 'proxy-https' as const, expect: 'reachable' as const, deadlineMs: 3000 };
  const plan = { version: 1 as const, checks: [{ ...control, url: 'https://203.0.113.10/', companion: check.companion }] };
  const swept = withPortSweeps(plan, ['203.0.113.10', '198.51.100.9'], parsePorts('1-2000'), check.companion, 4);
  const [a, b] = swept.checks.slice(1) as TcpSweepCheck[];
  t.match(a, { host: '203.0.113.10', control: 'proxy-https/site', ports: '1-2000', companionConcurrency: 4, portDeadlineMs: 3000 });
  t.equal(a?.deadlineMs, (2 + 2) * 3000 + 1000, 'two waves of connects, two port deadlines of tunnels');
  t.notOk(b && 'control' in b, 'an address no control reaches gets none: its sweep is inconclusive');
  const byName = { ...control, id: 'proxy-https/named', url: 'https://outside.test/', pairedAddresses: ['198.51.100.9'] };
  const named = withPortSweeps(
    { ...plan, checks: [...plan.checks, { ...byName, companion: check.companion }] },
    ['198.51.100.9'],
    [443],
    check.companion,
  );
  t.match(named.checks.at(-1), { control: 'proxy-https/named' }, 'a control by a name paired with the address stands for it');
});
