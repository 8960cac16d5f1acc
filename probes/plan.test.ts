import t from 'tap';
import { PlanError } from '../src/base/errors.js';
import { parsePlan } from './plan.js';

const companion = { url: 'http://10.0.0.5:8080' };
const good = {
  version: 1,
  checks: [
    { id: 'ctl', kind: 'proxy-https', expect: 'reachable', url: 'https://203.0.113.10/', companion },
    { id: 'tcp', kind: 'tcp', expect: 'blocked', host: '203.0.113.10', port: 443, control: 'ctl', deadlineMs: 1500 },
    { id: 'v6', kind: 'tcp', expect: 'blocked', host: '2001:db8::10', port: 443 },
  ],
};
/** curl pinned to an address, controlled by a check that goes by the URL's name. */
const pinnedCurl = {
  id: 'c',
  kind: 'curl',
  expect: 'blocked',
  mode: 'env-cleared',
  url: 'https://outside.test/',
  address: '203.0.113.10',
  control: 'ctl',
};
const withCheck = (check: object): string => JSON.stringify({ version: 1, checks: [...good.checks, check] });

t.test('a valid plan parses, with the default deadline filled in', async (t) => {
  const plan = parsePlan(JSON.stringify(good), 'plan.json');
  t.equal(plan.checks.length, 3);
  t.equal(plan.checks[0]?.deadlineMs, 5000);
  t.equal(plan.checks[1]?.deadlineMs, 1500);
});

const BAD: [string, string, RegExp][] = [
  ['malformed JSON', '{"version": 1,', /not valid JSON/],
  ['wrong version', JSON.stringify({ ...good, version: 2 }), /\/version/],
  ['no checks', JSON.stringify({ version: 1, checks: [] }), /\/checks/],
  ['unknown kind', withCheck({ id: 'x', kind: 'sctp', expect: 'blocked' }), /kind.*allowed values/],
  ['unknown property', withCheck({ id: 'x', kind: 'tcp', expect: 'blocked', host: '203.0.113.1', port: 1, hots: 1 }), /"hots"/],
  ['port out of range', withCheck({ id: 'x', kind: 'tcp', expect: 'blocked', host: '203.0.113.1', port: 70000 }), /port/],
  ['name instead of address', withCheck({ id: 'x', kind: 'tcp', expect: 'blocked', host: 'example.com', port: 443 }), /not a literal IP/],
  [
    'bad DNS server',
    withCheck({ id: 'x', kind: 'dns', mode: 'direct', expect: 'blocked', server: 'dns.google', transport: 'udp', name: 'a' }),
    /not a literal IP/,
  ],
  ['duplicate id', withCheck({ id: 'tcp', kind: 'tcp', expect: 'blocked', host: '203.0.113.1', port: 1 }), /duplicate check id "tcp"/],
  [
    'unknown control',
    withCheck({ id: 'x', kind: 'tcp', expect: 'blocked', host: '203.0.113.10', port: 1, control: 'nope' }),
    /unknown control/,
  ],
  [
    'control that is not a proxy check',
    withCheck({ id: 'x', kind: 'tcp', expect: 'blocked', host: '203.0.113.10', port: 1, control: 'v6' }),
    /must be a reachable/,
  ],
  [
    'control to another host',
    withCheck({ id: 'x', kind: 'tcp', expect: 'blocked', host: '198.51.100.1', port: 443, control: 'ctl' }),
    /not the target 198.51.100.1/,
  ],
  [
    'control on a reachable check',
    withCheck({ id: 'x', kind: 'proxy-env', expect: 'reachable', url: 'https://203.0.113.10/', control: 'ctl' }),
    /cannot have a control/,
  ],
  [
    'companion with an unknown scheme',
    withCheck({ id: 'x', kind: 'proxy-connect', expect: 'reachable', host: 'a', port: 1, proof: 'banner', companion: { url: 'ftp://x' } }),
    /companion\/url/,
  ],
  [
    'a tunnel control that says nothing of how the origin is made to answer',
    withCheck({ id: 'x', kind: 'proxy-connect', expect: 'reachable', host: '203.0.113.10', port: 22, companion }),
    /proof/,
  ],
  [
    // Issue 10: a pinned address judged against a control that reached only the name.
    'a curl check pinned to an address with a control by a name the plan does not pair with it',
    JSON.stringify({
      version: 1,
      checks: [{ id: 'ctl', kind: 'proxy-https', expect: 'reachable', url: 'https://outside.test/', companion }, pinnedCurl],
    }),
    /not the target 203.0.113.10/,
  ],
  [
    'both a companion control and a direct one',
    withCheck({ id: 'x', kind: 'tcp', expect: 'blocked', host: '203.0.113.10', port: 1, control: 'ctl', controlFrom: 'direct' }),
    /one observer/,
  ],
  // Hosts are written into CONNECT requests: a CR/LF or a space would inject a header.
  [
    'header injection in a CONNECT host',
    withCheck({
      id: 'x',
      kind: 'proxy-connect',
      expect: 'reachable',
      proof: 'banner',
      host: '203.0.113.10:443 HTTP/1.1\r\nX-Injected: 1\r\n',
      port: 443,
      companion,
    }),
    /\/checks\/3\/host.*must match pattern/,
  ],
  [
    'a colon that is no IPv6 address',
    withCheck({ id: 'x', kind: 'proxy-connect', expect: 'reachable', host: '1.2.3.4:80', port: 443, proof: 'banner', companion }),
    /host "1.2.3.4:80" is not a host name or an IP address/,
  ],
  [
    'a space in a DNS name',
    withCheck({ id: 'x', kind: 'dns', mode: 'resolve', expect: 'reachable', name: 'a b.example' }),
    /\/name.*must match pattern/,
  ],
  [
    'a control character in a URL',
    withCheck({ id: 'x', kind: 'proxy-https', expect: 'reachable', url: 'https://203.0.113.10/\r\nX: 1', companion }),
    /\/url.*must match pattern/,
  ],
  [
    'a URL host that is no name',
    withCheck({ id: 'x', kind: 'proxy-https', expect: 'reachable', url: 'https://a_b$c/', companion }),
    /url's host "a_b\$c" is not a host name/,
  ],
  [
    'a companion URL with a newline',
    withCheck({
      id: 'x',
      kind: 'proxy-connect',
      expect: 'reachable',
      host: 'a',
      port: 1,
      proof: 'banner',
      companion: { url: 'http://p:8080\nX: 1' },
    }),
    /companion\/url/,
  ],
];

t.test('a control by name stands for the literal addresses the plan pairs with it', async (t) => {
  const plan = parsePlan(
    JSON.stringify({
      version: 1,
      checks: [
        { id: 'ctl', kind: 'proxy-https', expect: 'reachable', url: 'https://outside.test/', companion, pairedAddresses: ['203.0.113.10'] },
        pinnedCurl,
        { id: 't', kind: 'tcp', expect: 'blocked', host: '203.0.113.10', port: 80, control: 'ctl' },
      ],
    }),
    'plan.json',
  );
  t.equal(plan.checks.length, 3);
});

t.test('names, IPv4 and IPv6 literals are hosts', async (t) => {
  for (const host of [
    'example.com',
    'example.com.',
    '_dns.x',
    '203.0.113.10',
    '2001:db8::10',
    '::ffff:203.0.113.1',
    'egress-guardian-svc',
  ]) {
    t.doesNotThrow(
      () =>
        parsePlan(
          withCheck({ id: 'x', kind: 'proxy-connect', expect: 'reachable', host, port: 443, proof: 'banner', companion }),
          'plan.json',
        ),
      host,
    );
  }
});

t.test('bad plans are one-line PlanErrors', async (t) => {
  for (const [what, text, message] of BAD) {
    t.throws(() => parsePlan(text, 'plan.json'), PlanError, what);
    try {
      parsePlan(text, 'plan.json');
    } catch (err) {
      t.match((err as Error).message, message, what);
      t.notMatch((err as Error).message, /\n/, `${what}: one line`);
    }
  }
});
