import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, isIPv6, type Socket } from 'node:net';
import { checkServerIdentity, type TLSSocket, connect as tlsConnect } from 'node:tls';
import * as packet from 'dns-packet';
import { urlEndpoint } from '../base/endpoint.js';
import type { Finding, Observation, ProxyConnectCheck, ProxyHttpsCheck } from '../base/model.js';
import { markedUrl, receiptHeaders } from '../base/receipt.js';
import { encodeQuery, framed, unframed } from './dns.js';
import { bodyPrefix, type HttpAnswer, judgeAnswer } from './origin.js';
import { errorText } from './socket-outcome.js';
import { openTunnel } from './tunnel.js';

type Partial = Omit<Observation, 'durationMs'>;

/**
 * A tunnel through the companion to host:port, and the origin made to answer through it: the
 * positive control for non-HTTPS targets. The tunnel alone proves nothing (a bumping Squid
 * answers CONNECT 200 before it dials, even for a CONNECT it then denies).
 */
export async function runProxyConnect(check: ProxyConnectCheck, signal: AbortSignal): Promise<Partial> {
  const tunnel = await openTunnel(check.companion, check.host, check.port, signal);
  if (!tunnel.ok) return tunnel.observation;
  const via = `${check.host}:${check.port} through ${check.companion.url}`;
  try {
    switch (check.proof) {
      case 'http': {
        const authority = `${isIPv6(check.host) ? `[${check.host}]` : check.host}:${check.port}`;
        const answer = await fetchAnswer(httpRequest, `http://${authority}/`, tunnel.socket, signal);
        const judged = judgeAnswer(answer, check.origin);
        return { ...judged, detail: `${judged.detail} (${via})` };
      }
      case 'dns':
        return await dnsAnswer(tunnel.socket, check, via, signal);
      case 'dot': {
        const tls = await handshake(tunnel.socket, check.host, undefined, signal);
        return await dnsAnswer(tls, check, `${via}, over TLS`, signal);
      }
      case 'banner':
        return await banner(tunnel.socket, via, signal);
    }
  } catch (err) {
    return {
      outcome: 'origin-unproven',
      class: 'indeterminate',
      detail: `tunnel to ${via} opened, but no answer from the origin: ${errorText(err)}`,
    };
  } finally {
    tunnel.socket.destroy();
  }
}

/** A DNS query through the tunnel; an answer with the query's id can only come from a resolver. */
function dnsAnswer(socket: Socket, check: ProxyConnectCheck, via: string, signal: AbortSignal): Promise<Partial> {
  const query = encodeQuery(check.queryName ?? 'example.com');
  const id = query.readUInt16BE(0);
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const onAbort = (): void => reject(new Error('no DNS answer before the deadline'));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const message = unframed(received);
      if (message === undefined) return;
      signal.removeEventListener('abort', onAbort);
      const answer = message.length >= 2 && message.readUInt16BE(0) === id ? decodeRcode(message) : undefined;
      resolve(
        answer === undefined
          ? { outcome: 'origin-unproven', class: 'indeterminate', detail: `an answer that is not DNS came back from ${via}` }
          : {
              outcome: 'answered',
              class: 'reached',
              detail: `the resolver answered (rcode ${answer}) through ${via}`,
              facts: { rcode: answer },
            },
      );
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('the tunnel closed before a DNS answer')));
    socket.resume();
    socket.write(framed(query));
  });
}

function decodeRcode(message: Buffer): string | undefined {
  try {
    return (packet.decode(message) as { rcode?: string }).rcode ?? '?';
  } catch {
    return undefined;
  }
}

/** Services that speak first (SSH, SMTP): bytes the client never asked for came from the far end. */
function banner(socket: Socket, via: string, signal: AbortSignal): Promise<Partial> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(new Error('the origin sent nothing before the deadline'));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('data', (chunk: Buffer) => {
      signal.removeEventListener('abort', onAbort);
      // A status line after the tunnel opened is the proxy talking, not the origin.
      if (chunk.toString('latin1').startsWith('HTTP/1.'))
        return resolve({
          outcome: 'origin-unproven',
          class: 'indeterminate',
          detail: `an HTTP answer instead of the origin's banner from ${via}`,
        });
      resolve({ outcome: 'connected', class: 'reached', detail: `the origin spoke first (${chunk.length} bytes) through ${via}` });
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('the tunnel closed before the origin spoke')));
    socket.resume();
  });
}

/** A TLS handshake over a tunnel that did not finish: says nothing about the route either way. */
export function tlsThroughCompanionFailed(err: unknown): Partial {
  return {
    outcome: 'tls-error',
    class: 'indeterminate',
    detail: `TLS through the companion failed: ${errorText(err)}`,
    error: errorText(err),
  };
}

/**
 * HTTPS to the origin through the companion. The TLS handshake is done here, over the tunnel, so
 * the certificate the client is shown is the one recorded: with the companion's CA known, it must
 * chain to that CA (TLS interception is active). Only an answer the origin made proves it reached.
 */
export async function runProxyHttps(check: ProxyHttpsCheck, signal: AbortSignal, ca: string | undefined): Promise<Partial> {
  const { host, port } = urlEndpoint(check.url);
  const tunnel = await openTunnel(check.companion, host, port, signal);
  if (!tunnel.ok) return tunnel.observation;
  let tls: TLSSocket;
  try {
    tls = await handshake(tunnel.socket, host, ca, signal);
  } catch (err) {
    tunnel.socket.destroy();
    return tlsThroughCompanionFailed(err);
  }
  const finding = interception(tls, host, ca);
  const cert = tls.getPeerCertificate();
  const facts = {
    issuer: distinguishedName(cert.issuer),
    subject: distinguishedName(cert.subject),
    fingerprint256: cert.fingerprint256 ?? '',
  };
  try {
    const answer = await fetchAnswer(httpsRequest, markedUrl(check.url, check.receipt), tls, signal, receiptHeaders(check.receipt));
    const judged = judgeAnswer(answer, check.origin);
    return { ...judged, detail: `${judged.detail} through ${check.companion.url}`, facts: { ...facts, ...judged.facts }, finding };
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

export function handshake(socket: Socket, host: string, ca: string | undefined, signal: AbortSignal): Promise<TLSSocket> {
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

/**
 * One GET over an open socket. Host is set from the URL: with `createConnection` Node uses no
 * agent, so it would otherwise add the default port of plain HTTP (`Host: name:80`), and a proxy
 * that rebuilds the URL from Host (Squid after bumping) would then dial port 80.
 */
export function fetchAnswer(
  request: typeof httpsRequest,
  url: string,
  socket: Socket,
  signal: AbortSignal,
  headers: Record<string, string> = {},
  form?: string,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: form === undefined ? 'GET' : 'POST',
      createConnection: () => socket.resume(),
      signal,
      headers: {
        ...headers,
        ...(form !== undefined && { 'content-type': 'application/x-www-form-urlencoded' }),
        host: new URL(url).host,
        'user-agent': 'egress-verify',
      },
    });
    req.once('response', (res: IncomingMessage) => {
      bodyPrefix(res).then((body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }), reject);
    });
    req.once('error', reject);
    req.end(form);
  });
}
