import t from 'tap';
import { classifyPing } from './icmp.js';

// iputils-ping 20221126 output, as Debian 12 prints it.
const reply = `PING 203.0.113.10 (203.0.113.10) 56(84) bytes of data.
64 bytes from 203.0.113.10: icmp_seq=1 ttl=63 time=0.081 ms

--- 203.0.113.10 ping statistics ---
1 packets transmitted, 1 received, 0% packet loss, time 0ms
rtt min/avg/max/mdev = 0.081/0.081/0.081/0.000 ms
`;
const silence = `PING 203.0.113.10 (203.0.113.10) 56(84) bytes of data.

--- 203.0.113.10 ping statistics ---
1 packets transmitted, 0 received, 100% packet loss, time 0ms
`;
const filtered = `PING 203.0.113.10 (203.0.113.10) 56(84) bytes of data.
From 10.0.0.1 icmp_seq=1 Packet filtered

--- 203.0.113.10 ping statistics ---
1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms
`;
const hostDown = `PING 203.0.113.10 (203.0.113.10) 56(84) bytes of data.
From 10.0.0.1 icmp_seq=1 Destination Host Unreachable
`;

t.test('an echo reply is a path out; silence and ICMP errors are blocked', async (t) => {
  t.match(classifyPing({ exitCode: 0, output: reply }, '203.0.113.10'), { outcome: 'answered', class: 'reached' });
  t.match(classifyPing({ exitCode: 1, output: silence }, '203.0.113.10'), { outcome: 'timeout', class: 'blocked' });
  t.match(classifyPing({ exitCode: 1, output: filtered }, '203.0.113.10'), { outcome: 'filtered', class: 'blocked' });
  t.match(classifyPing({ exitCode: 1, output: hostDown }, '203.0.113.10'), { outcome: 'unreachable', class: 'blocked' });
  t.match(classifyPing({ exitCode: 2, output: 'ping: connect: Network is unreachable\n' }, '203.0.113.10'), {
    outcome: 'unreachable',
    class: 'blocked',
  });
});

t.test('no ICMP socket for the probe is an error that says why, never blocked', async (t) => {
  const o = classifyPing({ exitCode: 2, output: 'ping: socket: Operation not permitted\n' }, '203.0.113.10');
  t.match(o, { outcome: 'probe-error', class: 'error' });
  t.match(o.detail, /ping_group_range/);
  t.match(classifyPing({ exitCode: 2, output: 'ping: unknown iden\n' }, '203.0.113.10'), { class: 'error' });
});
