import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Observation, UdpCheck } from '../base/model.js';
import { errorCode, errorText, socketOutcome } from './socket-outcome.js';

/** A QUIC long-header Initial-looking datagram: enough for a QUIC server or an echo to answer. */
const DEFAULT_PAYLOAD = `c0000000010800000000000000000000${'00'.repeat(16)}`;

/**
 * Sends one datagram and waits for any answer. A reply proves the route is open. An ICMP port
 * unreachable (ECONNREFUSED on a connected socket) can come from the target or from a REJECT
 * rule, so it is indeterminate rather than blocked.
 */
export async function runUdp(check: UdpCheck, signal: AbortSignal): Promise<Omit<Observation, 'durationMs'>> {
  const socket = createSocket(isIPv6(check.host) ? 'udp6' : 'udp4');
  const target = `${check.host}:${check.port}/udp`;
  return new Promise((resolve) => {
    const finish = (o: Omit<Observation, 'durationMs'>): void => {
      signal.removeEventListener('abort', onAbort);
      socket.close();
      resolve(o);
    };
    const onAbort = (): void => finish({ outcome: 'timeout', class: 'blocked', detail: `no answer from ${target} before the deadline` });
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('message', (msg, rinfo) =>
      finish({
        outcome: 'answered',
        class: 'reached',
        detail: `${msg.length}-byte answer from ${rinfo.address}:${rinfo.port}`,
      }),
    );
    socket.once('error', (err) => {
      const code = errorCode(err);
      if (code === 'ECONNREFUSED') {
        finish({ outcome: 'refused', class: 'indeterminate', detail: `ICMP port unreachable for ${target}`, error: errorText(err) });
        return;
      }
      finish({ ...socketOutcome(code), detail: `send to ${target}: ${errorText(err)}`, error: errorText(err) });
    });
    socket.connect(check.port, check.host, () => {
      socket.send(Buffer.from(check.payloadHex ?? DEFAULT_PAYLOAD, 'hex'));
    });
  });
}
