import { lookup } from 'node:dns/promises';
import { connect, isIP, isIPv4, isIPv6, type Socket } from 'node:net';
import { basicAuthorization, proxyCredentials, withoutCredentials } from '../base/credentials.js';
import type { Companion, Observation } from '../base/model.js';
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
  const socks = { greeted: false };
  const tunnel =
    proxy.protocol === 'http:'
      ? httpConnect(reached.socket, target, port, proxy)
      : socksConnect(reached.socket, target, port, proxy, socks);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      reached.socket.destroy();
      resolve(
        failed(
          proxy.protocol !== 'http:' && !socks.greeted
            ? notSocks(withoutCredentials(proxy), 'it never answered the SOCKS5 greeting')
            : {
                outcome: 'companion-slow',
                class: 'indeterminate',
                detail: `the companion accepted the connection but did not open a tunnel to ${host}:${port} before the deadline`,
              },
        ),
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

/** The companion's host (IPv6 unbracketed) and port, its scheme's default when the URL has none. */
export function companionEndpoint(url: string): { host: string; port: number } {
  const proxy = new URL(url);
  return {
    host: proxy.hostname.replace(/^\[|\]$/g, ''),
    port: proxy.port !== '' ? Number(proxy.port) : proxy.protocol === 'http:' ? 80 : 1080,
  };
}

/** A TCP connection to the companion itself; the caller owns the socket on success. */
export function reachCompanion(url: string, signal: AbortSignal): Promise<TunnelResult> {
  const { host, port } = companionEndpoint(url);
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

function httpConnect(socket: Socket, host: string, port: number, proxy: URL): Promise<TunnelResult> {
  const authority = `${isIPv6(host) ? `[${host}]` : host}:${port}`;
  // The workload's credentials, as curl and undici send them from its HTTPS_PROXY.
  const auth = basicAuthorization(proxy);
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
        // Bytes after the header are the origin's (a banner): they belong to the tunnel.
        const rest = Buffer.from(head.slice(end + 4), 'latin1');
        socket.pause();
        if (rest.length > 0) socket.unshift(rest);
        finish({ ok: true, socket });
        return;
      }
      socket.destroy();
      // 403/407: the companion's own policy said no; 5xx: it tried and the origin did not answer.
      // 407 asks for credentials; tinyproxy answers wrong ones with 401.
      const sent = status === 407 || status === 401 ? (auth ? ' (to the credentials in its URL)' : ' (its URL has no credentials)') : '';
      const detail = `companion answered CONNECT ${authority} with "${line}"${sent}`;
      finish(
        failed(
          status >= 400 && status < 500
            ? { outcome: 'proxy-refused', class: 'blocked', detail, facts: { connectStatus: status } }
            : { outcome: 'upstream-error', class: 'indeterminate', detail, facts: { connectStatus: status } },
        ),
      );
    };
    const onError = (err: Error): void => finish(failed(connectFailed(err)));
    const onClose = (): void =>
      finish(failed({ outcome: 'upstream-error', class: 'indeterminate', detail: 'companion closed the connection during CONNECT' }));
    const finish = (r: TunnelResult): void => {
      socket.off('data', onData).off('error', onError).off('close', onClose);
      resolve(r);
    };
    socket.on('data', onData).once('error', onError).once('close', onClose);
    const authHeader = auth ? `Proxy-Authorization: ${auth}\r\n` : '';
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${authHeader}\r\n`);
  });
}

/**
 * A socket error while the CONNECT is sent or answered. A reset after the companion accepted
 * proves nothing about the route; a refusal is the companion not accepting connections (seen on
 * the lab cluster as the companion scaled to 0: the error surfaced on the CONNECT's write), the
 * allowed path broken as surely as a refused connect.
 */
export function connectFailed(err: unknown): Omit<Observation, 'durationMs'> {
  const text = errorText(err);
  return errorCode(err) === 'ECONNREFUSED'
    ? { outcome: 'proxy-unreachable', class: 'blocked', detail: `the companion refused the connection: ${text}`, error: text }
    : { outcome: 'upstream-error', class: 'indeterminate', detail: `companion closed the CONNECT: ${text}`, error: text };
}

/** SOCKS5 to a port that speaks something else (an HTTP proxy port): the allowed path is misconfigured. */
function notSocks(url: string, why: string): Omit<Observation, 'durationMs'> {
  return { outcome: 'proxy-refused', class: 'blocked', detail: `${url} is not a SOCKS5 proxy: ${why}` };
}

/** RFC 1928 method numbers: none, and username/password (RFC 1929). */
const SOCKS_NO_AUTH = 0;
const SOCKS_USER_PASS = 2;

/** SOCKS5 reply codes (RFC 1928 §6) that are the proxy's own rule, not the origin's state. */
const SOCKS_REPLIES: Record<number, string> = {
  1: 'general failure',
  2: 'connection not allowed by ruleset',
  3: 'network unreachable',
  4: 'host unreachable',
  5: 'connection refused',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported',
};

/**
 * SOCKS5 CONNECT (RFC 1928), with username and password (RFC 1929) when the URL carries them, by
 * hand so that every way a port can fail to speak SOCKS (an HTTP error page, silence, a close) is
 * told apart from the origin being down.
 */
function socksConnect(socket: Socket, host: string, port: number, proxy: URL, progress: { greeted: boolean }): Promise<TunnelResult> {
  const creds = proxyCredentials(proxy);
  const url = withoutCredentials(proxy);
  const methods = creds ? [SOCKS_NO_AUTH, SOCKS_USER_PASS] : [SOCKS_NO_AUTH];
  let authenticating = false;
  const address = isIPv4(host)
    ? Buffer.from([1, ...host.split('.').map(Number)])
    : isIPv6(host)
      ? Buffer.concat([Buffer.from([4]), ipv6Bytes(host)])
      : Buffer.concat([Buffer.from([3, Buffer.byteLength(host)]), Buffer.from(host)]);
  const portBytes = Buffer.from([port >> 8, port & 0xff]);
  const connectRequest = Buffer.concat([Buffer.from([5, 1, 0]), address, portBytes]);
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    const finish = (r: TunnelResult): void => {
      socket.off('data', onData).off('error', onError).off('close', onClose);
      if (!r.ok) socket.destroy();
      resolve(r);
    };
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      if (!progress.greeted) {
        if (received.length < 2) return;
        const method = received[1] ?? -1;
        if (received[0] === 5 && method === 0xff) {
          const why = creds
            ? 'it accepts neither no authentication nor a username and password'
            : 'it requires authentication and its URL has no credentials';
          finish(failed({ outcome: 'proxy-refused', class: 'blocked', detail: `companion ${url} refused the SOCKS5 greeting: ${why}` }));
          return;
        }
        if (received[0] !== 5 || !methods.includes(method)) {
          const text = received.toString('latin1');
          const why = text.startsWith('HTTP/')
            ? `it answered "${text.split('\r\n')[0]}"`
            : `it answered 0x${received.subarray(0, 2).toString('hex')}`;
          finish(failed(notSocks(url, why)));
          return;
        }
        progress.greeted = true;
        received = received.subarray(2);
        authenticating = method === SOCKS_USER_PASS;
        socket.write(authenticating && creds ? userPassRequest(creds) : connectRequest);
      }
      if (authenticating) {
        if (received.length < 2) return;
        if (received[1] !== 0) {
          finish(
            failed({
              outcome: 'proxy-refused',
              class: 'blocked',
              detail: `companion ${url} refused the credentials in its URL (SOCKS5 status ${received[1]})`,
            }),
          );
          return;
        }
        authenticating = false;
        received = received.subarray(2);
        socket.write(connectRequest);
      }
      const need = replyLength(received);
      if (need === undefined || received.length < need) return;
      const code = received[1] ?? 1;
      if (code === 0) {
        const rest = received.subarray(need);
        if (rest.length > 0) socket.unshift(rest);
        finish({ ok: true, socket });
        return;
      }
      const detail = `companion answered SOCKS5 CONNECT ${host}:${port} with ${SOCKS_REPLIES[code] ?? `reply ${code}`}`;
      // Not allowed is the companion's own policy; the rest says the origin could not be reached.
      finish(
        failed(
          code === 2
            ? { outcome: 'proxy-refused', class: 'blocked', detail, facts: { socksReply: code } }
            : { outcome: 'upstream-error', class: 'indeterminate', detail, facts: { socksReply: code } },
        ),
      );
    };
    const onError = (err: Error): void =>
      finish(
        failed(
          progress.greeted
            ? {
                outcome: 'upstream-error',
                class: 'indeterminate',
                detail: `companion closed the SOCKS5 CONNECT: ${errorText(err)}`,
                error: errorText(err),
              }
            : notSocks(url, errorText(err)),
        ),
      );
    const onClose = (): void =>
      finish(
        failed(
          progress.greeted
            ? { outcome: 'upstream-error', class: 'indeterminate', detail: 'companion closed the connection during SOCKS5 CONNECT' }
            : notSocks(url, 'it closed the connection at the greeting'),
        ),
      );
    socket.on('data', onData).once('error', onError).once('close', onClose);
    socket.write(Buffer.from([5, methods.length, ...methods]));
  });
}

/** RFC 1929: version 1, then the user and the password, each with a length byte. */
function userPassRequest(creds: { user: string; password: string }): Buffer {
  const field = (text: string): Buffer => {
    const bytes = Buffer.from(text, 'utf8').subarray(0, 255);
    return Buffer.concat([Buffer.from([bytes.length]), bytes]);
  };
  return Buffer.concat([Buffer.from([1]), field(creds.user), field(creds.password)]);
}

/** Length of a complete SOCKS5 reply at the start of `b`, or undefined while unknown. */
function replyLength(b: Buffer): number | undefined {
  if (b.length < 5) return undefined;
  const atyp = b[3];
  if (atyp === 1) return 10;
  if (atyp === 4) return 22;
  if (atyp === 3) return 7 + (b[4] ?? 0);
  return 10;
}

function ipv6Bytes(host: string): Buffer {
  const [head = '', tail = ''] = host.split('::');
  const part = (s: string): number[] => (s === '' ? [] : s.split(':').map((h) => Number.parseInt(h, 16)));
  const a = part(head);
  const b = host.includes('::') ? part(tail) : [];
  const groups = [...a, ...new Array<number>(8 - a.length - b.length).fill(0), ...b];
  return Buffer.from(groups.flatMap((g) => [g >> 8, g & 0xff]));
}
