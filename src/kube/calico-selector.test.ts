import t from 'tap';
import { CalicoSelectorError, matchesCalico, parseCalicoSelector } from './calico-selector.js';

const matches = (selector: string, labels: Record<string, string>, isGlobal = false): boolean =>
  matchesCalico(parseCalicoSelector(selector), labels, isGlobal);

t.test("the documentation's selector table, term by term", async (t) => {
  const k = { k: 'vanilla' };
  const none = {};
  // [selector, matches {k: vanilla}, matches an endpoint without k]
  const rows: [string, boolean, boolean][] = [
    ['all()', true, true],
    ['', true, true],
    ["k == 'vanilla'", true, false],
    ["k != 'vanilla'", false, true],
    ["k != 'chocolate'", true, true],
    ['has(k)', true, false],
    ['!has(k)', false, true],
    ["k in { 'vanilla', 'chocolate' }", true, false],
    ["k not in { 'vanilla', 'chocolate' }", false, true],
    ["k not in { 'strawberry' }", true, true],
    ['k in {}', false, false],
    ["k contains 'nil'", true, false],
    ["k starts with 'van'", true, false],
    ["k ends with 'lla'", true, false],
    ["k ends with 'van'", false, false],
    ["!(k == 'vanilla')", false, true],
    ["k == 'vanilla' && has(k)", true, false],
    ["k == 'chocolate' || !has(k)", false, true],
  ];
  for (const [selector, withK, withoutK] of rows) {
    t.equal(matches(selector, k), withK, `${selector || '(empty)'} on {k: vanilla}`);
    t.equal(matches(selector, none), withoutK, `${selector || '(empty)'} on {}`);
  }
});

t.test("the documentation's policy examples", async (t) => {
  t.ok(matches("role == 'database'", { role: 'database' }));
  t.notOk(matches("role == 'database'", { role: 'frontend' }));
  t.ok(matches('projectcalico.org/name in {"foo", "bar"}', { 'projectcalico.org/name': 'bar' }));
  t.notOk(matches('projectcalico.org/name in {"foo", "bar"}', { 'projectcalico.org/name': 'baz' }));
  const both = '(foo == "bar") && (projectcalico.org/namespace == "some-namespace")';
  t.ok(matches(both, { foo: 'bar', 'projectcalico.org/namespace': 'some-namespace' }));
  t.notOk(matches(both, { foo: 'bar', 'projectcalico.org/namespace': 'other' }));
  t.ok(matches("type == 'application' && environment != 'dev'", { type: 'application', environment: 'prod' }));
  t.ok(matches('global()', {}, true), 'global() selects non-namespaced endpoints');
  t.notOk(matches('global()', {}, false));
});

t.test('precedence: && binds tighter than ||; ! tighter than both', async (t) => {
  // a || (b && c): true with a alone
  t.ok(matches("a == '1' || b == '1' && c == '1'", { a: '1' }));
  t.notOk(matches("(a == '1' || b == '1') && c == '1'", { a: '1' }));
  t.ok(matches("!has(a) && b == '1'", { b: '1' }));
  t.ok(matches('!!has(a)', { a: 'x' }));
});

t.test('keys with prefixes, dots, dashes; both quote styles', async (t) => {
  t.ok(matches('k8s-app == "kube-dns"', { 'k8s-app': 'kube-dns' }));
  t.ok(matches("app.kubernetes.io/name == 'x'", { 'app.kubernetes.io/name': 'x' }));
  t.ok(matches(`v == "it's"`, { v: "it's" }));
});

t.test('malformed selectors are one-line errors that say where', async (t) => {
  for (const bad of [
    "k = 'v'",
    'k == v',
    "k == 'v' &&",
    "(k == 'v'",
    "k in {'a' 'b'}",
    'has(k',
    "k starts 'x'",
    "k == 'v",
    "k == 'v' k2",
    '#',
  ]) {
    t.throws(() => parseCalicoSelector(bad), CalicoSelectorError, bad);
    try {
      parseCalicoSelector(bad);
    } catch (err) {
      t.notOk((err as Error).message.includes('\n'), `${bad}: one line`);
    }
  }
});
