import t from 'tap';
import type { Check, Observation, ObservationClass, Outcome } from './base/model.js';
import { type CheckTraits, type ControlState, controlScope, controlSource, decide, TRUTH_TABLE } from './verdict.js';

const obs = (cls: ObservationClass, outcome: Outcome, failing?: boolean): Observation => ({
  class: cls,
  outcome,
  durationMs: 1,
  detail: 'test',
  ...(failing === undefined ? {} : { finding: { code: 'tls-not-intercepted', failing, message: 'm' } }),
});

// Every row of the truth table in docs/verdict.md, as [expect, class, outcome, control, finding?, verdict, traits?].
type Row = [Check['expect'], ObservationClass, Outcome, ControlState, boolean | undefined, string, CheckTraits?];
const ROWS: Row[] = [
  ['blocked', 'error', 'probe-error', 'proven-port', undefined, 'error'],
  ['blocked', 'reached', 'connected', 'proven-port', undefined, 'fail'],
  ['blocked', 'reached', 'http-response', 'absent', undefined, 'fail'],
  ['blocked', 'reached', 'answered', 'not-proven', undefined, 'fail'],
  ['blocked', 'blocked', 'timeout', 'absent', undefined, 'inconclusive'],
  ['blocked', 'blocked', 'timeout', 'not-proven', undefined, 'inconclusive'],
  ['blocked', 'blocked', 'timeout', 'proven-port', undefined, 'pass'],
  ['blocked', 'blocked', 'unreachable', 'proven-host', undefined, 'pass'],
  ['blocked', 'blocked', 'filtered', 'proven-host', undefined, 'pass'],
  ['blocked', 'blocked', 'servfail', 'proven-host', undefined, 'pass'],
  ['blocked', 'blocked', 'refused', 'proven-port', undefined, 'pass'],
  ['blocked', 'blocked', 'reset', 'proven-port', undefined, 'pass'],
  ['blocked', 'blocked', 'refused', 'proven-host', undefined, 'inconclusive'],
  ['blocked', 'blocked', 'reset', 'proven-host', undefined, 'inconclusive'],
  ['blocked', 'indeterminate', 'dns-failure', 'proven-port', undefined, 'inconclusive'],
  // A control pod reached the same address, port and protocol: any block is the policy's.
  ['blocked', 'blocked', 'timeout', 'proven-direct', undefined, 'pass'],
  ['blocked', 'blocked', 'refused', 'proven-direct', undefined, 'pass'],
  ['blocked', 'blocked', 'reset', 'proven-direct', undefined, 'pass'],
  ['blocked', 'blocked', 'servfail', 'proven-direct', undefined, 'pass'],
  ['blocked', 'reached', 'answered', 'proven-direct', undefined, 'fail'],
  ['blocked', 'indeterminate', 'dns-failure', 'proven-direct', undefined, 'inconclusive'],
  // Blocked while the allowed path went silent: whatever the control proved, never a pass.
  ['blocked', 'indeterminate', 'path-unsteady', 'proven-direct', undefined, 'inconclusive'],
  ['blocked', 'indeterminate', 'path-unsteady', 'proven-port', undefined, 'inconclusive'],
  ['blocked', 'error', 'probe-error', 'proven-direct', undefined, 'error'],
  // The control pod's answer proves the target answers datagrams: no declared responder needed.
  ['blocked', 'blocked', 'timeout', 'proven-direct', undefined, 'pass', { udpSilentUnknown: true }],
  ['reachable', 'error', 'probe-error', 'absent', undefined, 'error'],
  ['reachable', 'reached', 'http-response', 'absent', true, 'fail'],
  ['reachable', 'reached', 'http-response', 'absent', false, 'pass'],
  ['reachable', 'reached', 'answered', 'absent', undefined, 'pass'],
  ['reachable', 'blocked', 'proxy-unreachable', 'absent', undefined, 'fail'],
  ['reachable', 'blocked', 'nxdomain', 'absent', undefined, 'fail'],
  ['reachable', 'indeterminate', 'upstream-error', 'absent', undefined, 'inconclusive'],
  ['reachable', 'indeterminate', 'origin-unproven', 'absent', undefined, 'inconclusive'],
  // A companion too slow to answer proves nothing either way, and says so.
  ['reachable', 'indeterminate', 'companion-slow', 'absent', undefined, 'inconclusive'],
  ['blocked', 'blocked', 'timeout', 'awaiting-direct', undefined, 'inconclusive'],
  ['blocked', 'blocked', 'timeout', 'proven-host', undefined, 'inconclusive', { udpSilentUnknown: true }],
  ['blocked', 'blocked', 'timeout', 'proven-host', undefined, 'pass', { udpSilentUnknown: false }],
  ['reachable', 'blocked', 'proxy-refused', 'absent', undefined, 'inconclusive', { controlOnly: true }],
  ['reachable', 'blocked', 'proxy-refused', 'absent', undefined, 'fail', { controlOnly: false }],
  // Not dialled for lack of an IPv6 address: whatever the control proved, never a pass.
  ['blocked', 'indeterminate', 'no-ipv6', 'proven-direct', undefined, 'skip'],
  ['blocked', 'indeterminate', 'no-ipv6', 'proven-port', undefined, 'skip'],
  ['reachable', 'indeterminate', 'no-ipv6', 'absent', undefined, 'skip', { controlOnly: true }],
  // The enforcement canary: only the companion's own refusal passes, and it needs no control.
  ['blocked', 'blocked', 'proxy-refused', 'absent', undefined, 'pass', { canary: true }],
  ['blocked', 'reached', 'http-response', 'absent', undefined, 'fail', { canary: true }],
  ['blocked', 'blocked', 'proxy-unreachable', 'absent', undefined, 'inconclusive', { canary: true }],
  ['blocked', 'blocked', 'timeout', 'proven-direct', undefined, 'inconclusive', { canary: true }],
  ['blocked', 'indeterminate', 'upstream-error', 'absent', undefined, 'inconclusive', { canary: true }],
  ['blocked', 'indeterminate', 'proxy-refused', 'absent', undefined, 'inconclusive', { canary: true }],
  ['blocked', 'error', 'probe-error', 'absent', undefined, 'error', { canary: true }],
];

t.test('every truth-table row decides as documented', async (t) => {
  for (const [expect, cls, outcome, control, failing, verdict, traits] of ROWS) {
    t.equal(
      decide(expect, obs(cls, outcome, failing), control, traits).verdict,
      verdict,
      `${expect}/${cls}/${outcome}/${control}/${failing}/${JSON.stringify(traits ?? {})}`,
    );
  }
});

t.test('each table row is exercised by some case above', async (t) => {
  for (const row of TRUTH_TABLE) {
    const hit = ROWS.some(([expect, cls, outcome, control, failing, , traits]) => {
      const d = decide(expect, obs(cls, outcome, failing), control, traits);
      return expect === row.expect && cls === row.observed && d.reason === row.reason;
    });
    t.ok(hit, `row "${row.reason}" (${row.expect}/${row.observed}) is covered`);
  }
});

t.test('a blocked observation never passes without a proven control', async (t) => {
  const outcomes: Outcome[] = ['timeout', 'refused', 'unreachable', 'reset', 'filtered', 'servfail', 'proxy-refused'];
  for (const outcome of outcomes) {
    for (const control of ['absent', 'not-proven'] as const) {
      t.not(decide('blocked', obs('blocked', outcome), control).verdict, 'pass', `${outcome}/${control}`);
    }
  }
});

t.test('a canary never passes on anything but a refusal', async (t) => {
  const outcomes: Outcome[] = [
    'timeout',
    'refused',
    'unreachable',
    'reset',
    'proxy-unreachable',
    'upstream-error',
    'origin-unproven',
    'tls-error',
  ];
  const controls: ControlState[] = ['proven-direct', 'proven-port', 'proven-host', 'not-proven', 'absent', 'awaiting-direct'];
  for (const outcome of outcomes)
    for (const cls of ['blocked', 'indeterminate', 'reached'] as const)
      for (const control of controls)
        t.not(decide('blocked', obs(cls, outcome), control, { canary: true }).verdict, 'pass', `${cls}/${outcome}/${control}`);
  t.equal(decide('blocked', obs('reached', 'http-response'), 'absent', { canary: true }).verdict, 'fail', 'the origin answered');
});

t.test('a combination the table does not know is inconclusive, never pass', async (t) => {
  const d = decide('blocked', obs('blocked', 'proxy-refused'), 'proven-port');
  t.equal(d.verdict, 'inconclusive');
  t.match(d.reason, /no rule/);
});

t.test('control scope: same host and port, or host only', async (t) => {
  const base = { expect: 'blocked' as const, deadlineMs: 1000 };
  const companion = { url: 'http://c:8080' };
  const tcp: Check = { ...base, id: 't', kind: 'tcp', host: '203.0.113.10', port: 443 };
  const https: Check = { ...base, id: 'p', kind: 'proxy-https', expect: 'reachable', url: 'https://203.0.113.10/', companion };
  const other: Check = {
    ...base,
    id: 'c',
    kind: 'proxy-connect',
    expect: 'reachable',
    host: '203.0.113.10',
    port: 53,
    companion,
    proof: 'dns',
  };
  const udp: Check = { ...base, id: 'u', kind: 'udp', host: '203.0.113.10', port: 443 };
  t.equal(controlScope(tcp, https), 'proven-port');
  t.equal(controlScope(tcp, other), 'proven-host');
  t.equal(controlScope(udp, https), 'proven-host', 'UDP is never proven by a TCP control at port level');
  const dnsUdp: Check = { ...base, id: 'd', kind: 'dns', mode: 'direct', server: '203.0.113.10', transport: 'udp', port: 53, name: 'x' };
  t.equal(controlScope(dnsUdp, other), 'proven-port', "a resolver's TCP port proves its UDP port (RFC 7766)");
  const byName: Check = { ...base, id: 'n', kind: 'proxy-https', expect: 'reachable', url: 'https://outside.test/', companion };
  const pinned: Check = { ...base, id: 'c', kind: 'curl', url: 'https://outside.test/', mode: 'env-cleared', address: '203.0.113.10' };
  t.equal(controlScope(pinned, byName), 'not-proven', 'issue 10: a pinned address is not proven by a control that reached only the name');
  t.equal(controlScope(pinned, { ...byName, pairedAddresses: ['203.0.113.10'] }), 'proven-port', 'unless the catalogue pairs them');
  t.equal(controlScope(pinned, https), 'proven-port', 'a control to the pinned address itself');
});

t.test('each control state names its source; unproven ones say what would prove the block', async (t) => {
  t.equal(controlSource('proven-direct'), 'control-pod');
  t.equal(controlSource('proven-port'), 'companion');
  t.equal(controlSource('proven-host'), 'companion');
  t.equal(controlSource('not-proven'), 'none');
  t.equal(controlSource('absent'), 'none');
  t.equal(controlSource('awaiting-direct'), 'none');
  for (const control of ['absent', 'not-proven'] as const) {
    t.match(decide('blocked', obs('blocked', 'timeout'), control).reason, /control pod .* or the companion reaching it would prove/);
  }
});
