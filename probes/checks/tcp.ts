import { connect } from 'node:net';
import type { Observation, TcpCheck } from '../base/model.js';
import { errorCode, errorText, socketOutcome } from './socket-outcome.js';

/** One connect, never retried: a single completed handshake is a bypass. */
export async function runTcp(check: TcpCheck, signal: AbortSignal): Promise<Omit<Observation, 'durationMs'>> {
  return new Promise((resolve) => {
    const socket = connect({ host: check.host, port: check.port });
    let done = false;
    const finish = (o: Omit<Observation, 'durationMs'>): void => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(o);
    };
    // The deadline's timer runs before the loop polls sockets: on a busy machine a handshake the
    // kernel completed in time is still waiting there. Poll once more before calling it a timeout.
    const onAbort = (): void => {
      setImmediate(() =>
        finish({ outcome: 'timeout', class: 'blocked', detail: `no TCP handshake with ${check.host}:${check.port} before the deadline` }),
      );
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () =>
      finish({
        outcome: 'connected',
        class: 'reached',
        detail: `TCP handshake completed with ${check.host}:${check.port}`,
        facts: { localAddress: socket.localAddress ?? '', remoteAddress: socket.remoteAddress ?? '' },
      }),
    );
    socket.once('error', (err) => {
      const mapped = socketOutcome(errorCode(err));
      finish({ ...mapped, detail: `connect to ${check.host}:${check.port}: ${errorText(err)}`, error: errorText(err) });
    });
  });
}
