import t from 'tap';
import { companionGroups, inWaves, shareCompanion } from './companion-budget.js';

t.test('pods share the budget evenly; more pods than tunnels take turns in lanes', async (t) => {
  t.same(shareCompanion(1, 32), { lanes: 1, slots: 32, rounds: 1 });
  t.same(shareCompanion(5, 32), { lanes: 5, slots: 6, rounds: 1 });
  t.same(shareCompanion(32, 32), { lanes: 32, slots: 1, rounds: 1 });
  t.same(shareCompanion(33, 32), { lanes: 32, slots: 1, rounds: 2 });
  t.same(shareCompanion(100, 8), { lanes: 8, slots: 1, rounds: 13 });
  t.throws(() => shareCompanion(3, 0), /at least 1/);
});

t.test('the bound holds and every pod gets a slot, for every pod count and budget up to 200', async (t) => {
  let cases = 0;
  for (let pods = 1; pods <= 200; pods++)
    for (let budget = 1; budget <= 200; budget++) {
      const s = shareCompanion(pods, budget);
      const ok =
        s.slots >= 1 && s.lanes * s.slots <= budget && s.lanes <= pods && s.rounds * s.lanes >= pods && (s.rounds - 1) * s.lanes < pods;
      if (!ok) t.fail(`${pods} pods, budget ${budget}: ${JSON.stringify(s)}`);
      cases++;
    }
  t.equal(cases, 40_000);
});

t.test('inWaves cuts in order, a pod per lane', async (t) => {
  const pods = ['a', 'b', 'c', 'd', 'e'];
  t.same(inWaves(pods, shareCompanion(5, 2)), [['a', 'b'], ['c', 'd'], ['e']]);
  t.same(inWaves(pods, shareCompanion(5, 10)), [pods]);
});

t.test('namespaces that share a companion take turns; the others run at once', async (t) => {
  const ns = (namespace: string, ...companions: string[]) => ({ namespace, companions });
  const names = (groups: { namespace: string }[][]): string[][] => groups.map((g) => g.map((r) => r.namespace));
  // Each namespace's own egress-guardian-svc: three companions, three groups.
  t.same(
    names(
      companionGroups([
        ns('a', 'http://egress-guardian-svc:8080'),
        ns('b', 'http://egress-guardian-svc:8080'),
        ns('c', 'http://egress-guardian-svc:8080'),
      ]),
    ),
    [['a'], ['b'], ['c']],
  );
  // One central companion, however it is spelt.
  t.same(
    names(
      companionGroups([
        ns('a', 'http://guardian.security:8080'),
        ns('b', 'http://guardian.security.svc.cluster.local:8080'),
        ns('security', 'http://guardian:8080'),
        ns('c', 'http://guardian.security:3128'),
      ]),
    ),
    [['a', 'b', 'security'], ['c']],
  );
  // A namespace with two companions joins the groups of both.
  t.same(names(companionGroups([ns('a', 'http://x.p:1'), ns('b', 'http://y.q:1'), ns('c', 'http://x.p:1', 'http://y.q:1')])), [
    ['a', 'b', 'c'],
  ]);
  // Outside the cluster: the same host and port.
  t.same(names(companionGroups([ns('a', 'http://10.0.0.9:3128'), ns('b', 'http://10.0.0.9:3128')])), [['a', 'b']]);
});
