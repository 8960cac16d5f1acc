import { request as httpsRequest } from 'node:https';
import { isIP, type Socket } from 'node:net';
import { checkServerIdentity, type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { Finding, Observation, ProxyConnectCheck, ProxyHttpsCheck } from '../model.js';
import { urlEndpoint } from '../verdict.js';
import { errorText } from './socket-outcome.js';
import { openTunnel } from './tunnel.js';

type Partial = Omit<Observation, 'durationMs'>;

/** A tunnel through the companion to host:port: the positive control for non-HTTP targets. */
export async function runProxyConnect(check: ProxyConnectCheck, signal: AbortSignal): Promise<Partial> {
  const tunnel = await openTunnel(check.companion, check.host, check.port, signal);
  if (!tunnel.ok) return tunnel.observation;
  tunnel.socket.destroy();
  return { outcome: 'connected', class: 'reached', detail: `tunnel to ${check.host}:${check.port} opened through ${check.companion.url}` };
}

/**
 * HTTPS to the origin through the companion. The TLS handshake is done here, over the tunnel, so
 * the certificate the client is shown is the one recorded: with the companion's CA known, it must
 * chain to that CA (TLS interception is active).
 */
export async function runProxyHttps(check: ProxyHttpsCheck, signal: AbortSignal, ca: string | undefined): Promise<Partial> {
  const { host, port } = urlEndpoint(check.url);
  const tunnel = await openTunnel(check.companion, host, port, signal);
  if (!tunnel.ok) return tunnel.observation;
  let tls: TLSSocket;
  try {
    tls = await handshake(tunnel.socket, host, ca, signal);
  } catch (err) {
    return {
      outcome: 'tls-error',
      class: 'indeterminate',
      detail: `TLS through the companion failed: ${errorText(err)}`,
      error: errorText(err),
    };
  }
  const finding = interception(tls, host, ca);
  const cert = tls.getPeerCertificate();
  const facts = {
    issuer: distinguishedName(cert.issuer),
    subject: distinguishedName(cert.subject),
    fingerprint256: cert.fingerprint256 ?? '',
  };
  try {
    const status = await get(tls, check.url, signal);
    // The companion answers 502/503/504 itself when it cannot reach the origin.
    if (status >= 502 && status <= 504) {
      return {
        outcome: 'upstream-error',
        class: 'indeterminate',
        detail: `companion answered ${status}: origin not reached`,
        facts,
        finding,
      };
    }
    return {
      outcome: 'http-response',
      class: 'reached',
      detail: `HTTP ${status} through ${check.companion.url}`,
      facts: { ...facts, httpStatus: status },
      finding,
    };
  } catch (err) {
    return {
      outcome: 'upstream-error',
      class: 'indeterminate',
      detail: `request through the companion failed: ${errorText(err)}`,
      error: errorText(err),
      facts,
      finding,
    };
  } finally {
    tls.destroy();
  }
}

function handshake(socket: Socket, host: string, ca: string | undefined, signal: AbortSignal): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    // The chain is judged below, not by OpenSSL's accept/reject, so an untrusted one is recorded.
    // `authorized` then reflects the chain alone; the name is checked separately, below.
    const tls = tlsConnect({
      socket,
      host,
      servername: isIP(host) === 0 ? host : undefined,
      ca,
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      ALPNProtocols: ['http/1.1'],
    });
    const onAbort = (): void => {
      tls.destroy();
      reject(new Error('TLS handshake did not finish before the deadline'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    tls.once('secureConnect', () => {
      signal.removeEventListener('abort', onAbort);
      resolve(tls);
    });
    tls.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(err);
    });
  });
}

function interception(tls: TLSSocket, host: string, ca: string | undefined): Finding | undefined {
  const cert = tls.getPeerCertificate();
  const issuer = distinguishedName(cert.issuer);
  if (ca === undefined) {
    return {
      code: 'interception-unverified',
      failing: false,
      message: `no companion CA given; the origin certificate was issued by ${issuer}`,
    };
  }
  // With `ca` set to the companion's CA only, `authorized` means the chain ends at that CA.
  if (!tls.authorized) {
    return {
      code: 'tls-not-intercepted',
      failing: true,
      message: `the certificate for ${host} does not chain to the companion's CA (${String(tls.authorizationError)}; issuer ${issuer}): TLS is not intercepted`,
    };
  }
  const identity = checkServerIdentity(host, cert);
  if (identity !== undefined) {
    return {
      code: 'tls-not-intercepted',
      failing: true,
      message: `the companion's certificate does not name ${host}: ${identity.message}`,
    };
  }
  return undefined;
}

function distinguishedName(name: Record<string, string | string[] | undefined> | undefined): string {
  if (name === undefined) return '';
  return Object.entries(name)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : (v ?? '')}`)
    .join(', ');
}

function get(tls: TLSSocket, url: string, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: 'GET', createConnection: () => tls, signal, headers: { 'user-agent': 'egress-verify' } });
    req.once('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end();
  });
}
