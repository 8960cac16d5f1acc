import { lookup } from 'node:dns/promises';
import { connect, isIP, isIPv6, type Socket } from 'node:net';
import { SocksClient } from 'socks';
import type { Companion, Observation } from '../model.js';
import { errorCode, errorText } from './socket-outcome.js';

export type TunnelResult = { ok: true; socket: Socket } | { ok: false; observation: Omit<Observation, 'durationMs'> };

const failed = (observation: Omit<Observation, 'durationMs'>): TunnelResult => ({ ok: false, observation });

/**
 * Opens a raw tunnel to host:port through the companion: HTTP CONNECT for http:// companions,
 * SOCKS5 for socks5:// and socks5h://. Not reaching the companion breaks the allowed path
 * (blocked); a companion that answers but cannot reach the origin proves nothing about the
 * route (indeterminate), unless its own policy refused (blocked).
 */
export async function openTunnel(companion: Companion, host: string, port: number, signal: AbortSignal): Promise<TunnelResult> {
  const proxy = new URL(companion.url);
  let target = host;
  if (proxy.protocol === 'socks5:' && isIP(host) === 0) {
    // socks5:// (unlike socks5h://) means the client resolves names, as curl does.
    try {
      target = (await lookup(host)).address;
    } catch (err) {
      return failed({
        outcome: 'dns-failure',
        class: 'indeterminate',
        detail: `could not resolve ${host} for socks5://: ${errorText(err)}`,
      });
    }
  }
  const reached = await reachCompanion(companion.url, signal);
  if (!reached.ok) return reached;
  const tunnel = proxy.protocol === 'http:' ? httpConnect(reached.socket, target, port) : socksConnect(reached.socket, target, port);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      reached.socket.destroy();
      resolve(
        failed({
          outcome: 'upstream-error',
          class: 'indeterminate',
          detail: `the companion did not open a tunnel to ${host}:${port} before the deadline`,
        }),
      );
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    void tunnel.then((result) => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted && result.ok) result.socket.destroy();
      resolve(result);
    });
  });
}

/** A TCP connection to the companion itself; the caller owns the socket on success. */
export function reachCompanion(url: string, signal: AbortSignal): Promise<TunnelResult> {
  const proxy = new URL(url);
  const host = proxy.hostname.replace(/^\[|\]$/g, '');
  const port = proxy.port !== '' ? Number(proxy.port) : proxy.protocol === 'http:' ? 80 : 1080;
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const onAbort = (): void => {
      socket.destroy();
      resolve(
        failed({
          outcome: 'proxy-unreachable',
          class: 'blocked',
          detail: `no connection to the companion ${host}:${port} before the deadline`,
        }),
      );
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      resolve({ ok: true, socket });
    });
    socket.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      const code = errorCode(err);
      const why =
        code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'the companion name does not resolve' : 'the companion does not accept connections';
      resolve(
        failed({
          outcome: 'proxy-unreachable',
          class: 'blocked',
          detail: `${why} (${host}:${port}): ${errorText(err)}`,
          error: errorText(err),
        }),
      );
    });
  });
}

function httpConnect(socket: Socket, host: string, port: number): Promise<TunnelResult> {
  const authority = `${isIPv6(host) ? `[${host}]` : host}:${port}`;
  return new Promise((resolve) => {
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (head.length > 16384)
          finish(failed({ outcome: 'upstream-error', class: 'indeterminate', detail: 'companion sent an oversized CONNECT response' }));
        return;
      }
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      const line = head.slice(0, head.indexOf('\r\n'));
      if (status === 200) {
        finish({ ok: true, socket });
        return;
      }
      socket.destroy();
      // 403/407: the companion's own policy said no; 5xx: it tried and the origin did not answer.
      const detail = `companion answered CONNECT ${authority} with "${line}"`;
      finish(
        failed(
          status >= 400 && status < 500
            ? { outcome: 'proxy-refused', class: 'blocked', detail }
            : { outcome: 'upstream-error', class: 'indeterminate', detail },
        ),
      );
    };
    const onError = (err: Error): void =>
      finish(
        failed({
          outcome: 'upstream-error',
          class: 'indeterminate',
          detail: `companion closed the CONNECT: ${errorText(err)}`,
          error: errorText(err),
        }),
      );
    const onClose = (): void =>
      finish(failed({ outcome: 'upstream-error', class: 'indeterminate', detail: 'companion closed the connection during CONNECT' }));
    const finish = (r: TunnelResult): void => {
      socket.off('data', onData).off('error', onError).off('close', onClose);
      resolve(r);
    };
    socket.on('data', onData).once('error', onError).once('close', onClose);
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  });
}

async function socksConnect(socket: Socket, host: string, port: number): Promise<TunnelResult> {
  try {
    const { socket: tunnel } = await SocksClient.createConnection({
      proxy: { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, type: 5 },
      destination: { host, port },
      command: 'connect',
      existing_socket: socket,
    });
    return { ok: true, socket: tunnel };
  } catch (err) {
    socket.destroy();
    const text = errorText(err);
    // The proxy's reply code: NotAllowed is its policy; HostUnreachable/ConnectionRefused/Failure the origin.
    if (/NotAllowed/i.test(text))
      return failed({
        outcome: 'proxy-refused',
        class: 'blocked',
        detail: `companion refused SOCKS5 CONNECT ${host}:${port}: ${text}`,
        error: text,
      });
    return failed({
      outcome: 'upstream-error',
      class: 'indeterminate',
      detail: `companion could not reach ${host}:${port}: ${text}`,
      error: text,
    });
  }
}
