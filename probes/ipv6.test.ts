import type { NetworkInterfaceInfo } from 'node:os';
import t from 'tap';
import type { Check, ProbePlan } from './base/model.js';
import { ipv6OnlyChecks, ownIpv6Addresses, sendsIpv6 } from './ipv6.js';

const companion = { url: 'http://[2001:db8:1::5]:8080' };
const base = { deadlineMs: 1000 };
const v6: Check[] = [
  { ...base, id: 'tcp', kind: 'tcp', expect: 'blocked', host: '2001:db8::10', port: 443, control: 'ctl' },
  { ...base, id: 'udp', kind: 'udp', expect: 'blocked', host: '2001:db8::10', port: 443, control: 'ctl' },
  { ...base, id: 'icmp', kind: 'icmp', expect: 'blocked', host: '2001:db8::10', controlFrom: 'direct' },
  { ...base, id: 'curl-url', kind: 'curl', expect: 'blocked', url: 'https://[2001:db8::10]/', mode: 'noproxy', control: 'ctl' },
  { ...base, id: 'curl-pinned', kind: 'curl', expect: 'blocked', url: 'https://site.test/', address: '2001:db8::10', mode: 'noproxy' },
  {
    ...base,
    id: 'dot',
    kind: 'dns',
    mode: 'direct',
    expect: 'blocked',
    server: '2001:db8::53',
    transport: 'tls',
    port: 853,
    name: 'a.test',
  },
  {
    ...base,
    id: 'sweep',
    kind: 'tcp-sweep',
    expect: 'blocked',
    host: '2001:db8::10',
    ports: '1-10',
    companion,
    portDeadlineMs: 500,
    concurrency: 8,
    companionConcurrency: 2,
  },
];
const notV6: Check[] = [
  { ...base, id: 'tcp4', kind: 'tcp', expect: 'blocked', host: '203.0.113.10', port: 443, control: 'ctl4' },
  { ...base, id: 'pinned4', kind: 'curl', expect: 'blocked', url: 'https://[2001:db8::10]/', address: '203.0.113.10', mode: 'noproxy' },
  // Through the companion: the companion sends the IPv6 packets, not the pod.
  { ...base, id: 'ctl', kind: 'proxy-https', expect: 'reachable', purpose: 'control', url: 'https://[2001:db8::10]/', companion },
  { ...base, id: 'ctl4', kind: 'proxy-https', expect: 'reachable', url: 'https://203.0.113.10/', companion },
  { ...base, id: 'resolve', kind: 'dns', mode: 'resolve', expect: 'reachable', name: 'kubernetes.default' },
];

t.test('a check sends IPv6 itself only when it dials an IPv6 literal directly', async (t) => {
  for (const c of v6) t.ok(sendsIpv6(c), c.id);
  for (const c of notV6) t.notOk(sendsIpv6(c), c.id);
});

t.test('a control-only check that stands only for IPv6 checks goes with them; one that stands for more stays', async (t) => {
  const plan: ProbePlan = { version: 1, checks: [...v6, ...notV6] };
  t.same([...ipv6OnlyChecks(plan)].sort(), [...v6.map((c) => c.id), 'ctl'].sort());
  const shared: ProbePlan = {
    version: 1,
    checks: [...plan.checks, { ...base, id: 'tcp4b', kind: 'tcp', expect: 'blocked', host: '203.0.113.10', port: 80, control: 'ctl' }],
  };
  t.notOk(ipv6OnlyChecks(shared).has('ctl'), 'a control an IPv4 check needs is dialled');
  // A must-succeed check is the allowed path, never set aside for its dependents' sake.
  t.notOk(ipv6OnlyChecks(plan).has('ctl4'));
});

t.test("the pod's own IPv6 addresses leave out loopback and link-local", async (t) => {
  const common = { netmask: '', mac: '00:00:00:00:00:00', cidr: null };
  const v4 = (address: string): NetworkInterfaceInfo => ({ ...common, address, family: 'IPv4', internal: false });
  const v6 = (address: string, internal = false): NetworkInterfaceInfo => ({ ...common, address, family: 'IPv6', internal, scopeid: 0 });
  t.same(ownIpv6Addresses({ lo: [v6('::1', true)], eth0: [v4('10.0.0.5'), v6('fe80::1')] }), []);
  t.same(ownIpv6Addresses({ eth0: [v6('FE80::2'), v6('fd00:10::5'), v6('2001:db8::7')] }), ['fd00:10::5', '2001:db8::7']);
});
