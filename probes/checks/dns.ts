import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { lookup, Resolver } from 'node:dns/promises';
import { isIPv6, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import * as packet from 'dns-packet';
import type { DnsCheck, DnsDirectCheck, DnsRecursionCheck, DnsResolveCheck, Observation } from '../base/model.js';
import { abortable } from './deadline.js';
import { errorCode, errorText, socketOutcome } from './socket-outcome.js';

type Partial = Omit<Observation, 'durationMs'>;

export function runDns(check: DnsCheck, signal: AbortSignal): Promise<Partial> {
  switch (check.mode) {
    case 'resolve':
      return resolveThroughPod(check, signal);
    case 'direct':
      return queryDirect(check, signal);
    case 'recursion':
      return probeRecursion(check, signal);
  }
}

/** getaddrinfo, as applications resolve: the pod's resolv.conf, search list and ndots apply. */
async function resolveThroughPod(check: DnsResolveCheck, signal: AbortSignal): Promise<Partial> {
  try {
    const result = await abortable(lookup(check.name, { all: true }), signal);
    if (result === 'deadline') return { outcome: 'timeout', class: 'blocked', detail: `no answer for ${check.name} before the deadline` };
    const addresses = result.map((a) => a.address).join(',');
    return { outcome: 'answered', class: 'reached', detail: `${check.name} resolved to ${addresses}`, facts: { addresses } };
  } catch (err) {
    const code = errorCode(err);
    // EAI_AGAIN is getaddrinfo's "no answer from any server": the resolver is unreachable.
    const outcome = code === 'ENOTFOUND' ? 'nxdomain' : code === 'EAI_AGAIN' ? 'timeout' : 'servfail';
    return { outcome, class: 'blocked', detail: `lookup ${check.name}: ${errorText(err)}`, error: errorText(err) };
  }
}

export function encodeQuery(name: string): Buffer {
  return packet.encode({
    type: 'query',
    id: randomBytes(2).readUInt16BE(0),
    flags: packet.RECURSION_DESIRED,
    questions: [{ type: 'A', name, class: 'IN' }],
  });
}

function describeAnswer(buf: Buffer, server: string): Partial {
  const decoded = packet.decode(buf);
  // dns-packet decodes the rcode as a name ("NOERROR"); its type declarations omit it.
  const rcode = (decoded as { rcode?: string }).rcode ?? '?';
  return {
    outcome: 'answered',
    class: 'reached',
    detail: `${server} answered (rcode ${rcode}, ${decoded.answers?.length ?? 0} answers)`,
    facts: { rcode },
  };
}

/** Any answer at all, even REFUSED, proves the resolver is reachable past the policy. */
async function queryDirect(check: DnsDirectCheck, signal: AbortSignal): Promise<Partial> {
  const server = `${check.server}:${check.port}/${check.transport}`;
  const query = encodeQuery(check.name);
  try {
    const answer = await abortable(check.transport === 'udp' ? udpQuery(check, query, signal) : streamQuery(check, query, signal), signal);
    if (answer === 'deadline') return { outcome: 'timeout', class: 'blocked', detail: `no answer from ${server} before the deadline` };
    if (answer.kind === 'connected-no-answer') {
      // The TCP (or TLS) connection itself crossed the policy: the route is open.
      return { outcome: 'connected', class: 'reached', detail: `connected to ${server} but it did not answer: ${answer.detail}` };
    }
    return describeAnswer(answer.buf, server);
  } catch (err) {
    return { ...socketOutcome(errorCode(err)), detail: `query ${server}: ${errorText(err)}`, error: errorText(err) };
  }
}

type StreamAnswer = { kind: 'answer'; buf: Buffer } | { kind: 'connected-no-answer'; detail: string };

function udpQuery(check: DnsDirectCheck, query: Buffer, signal: AbortSignal): Promise<StreamAnswer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(check.server) ? 'udp6' : 'udp4');
    const close = (): void => {
      socket.close();
    };
    signal.addEventListener('abort', close, { once: true });
    socket.once('message', (buf) => {
      signal.removeEventListener('abort', close);
      close();
      resolve({ kind: 'answer', buf });
    });
    socket.once('error', (err) => {
      signal.removeEventListener('abort', close);
      close();
      reject(err);
    });
    socket.connect(check.port, check.server, () => socket.send(query));
  });
}

/** DNS over a stream (RFC 7766, RFC 7858): a two-byte length, then the message. */
export function framed(message: Buffer): Buffer {
  const out = Buffer.alloc(message.length + 2);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}

/** The first whole message of a stream, or undefined while it is incomplete. */
export function unframed(received: Buffer): Buffer | undefined {
  if (received.length < 2 || received.length < received.readUInt16BE(0) + 2) return undefined;
  return received.subarray(2, received.readUInt16BE(0) + 2);
}

/** DNS over TCP (RFC 7766) or over TLS (RFC 7858): the same two-byte length framing. */
function streamQuery(check: DnsDirectCheck, query: Buffer, signal: AbortSignal): Promise<StreamAnswer> {
  return new Promise((resolve, reject) => {
    let connected = false;
    let received = Buffer.alloc(0);
    const socket: Socket =
      check.transport === 'tls'
        ? tlsConnect({ host: check.server, port: check.port, rejectUnauthorized: false })
        : netConnect({ host: check.server, port: check.port });
    const done = (): void => {
      signal.removeEventListener('abort', done);
      socket.destroy();
    };
    signal.addEventListener('abort', done, { once: true });
    socket.once('connect', () => {
      connected = true;
    });
    socket.once(check.transport === 'tls' ? 'secureConnect' : 'connect', () => socket.write(framed(query)));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const message = unframed(received);
      if (message !== undefined) {
        done();
        resolve({ kind: 'answer', buf: message });
      }
    });
    socket.once('error', (err) => {
      done();
      if (connected) resolve({ kind: 'connected-no-answer', detail: errorText(err) });
      else reject(err);
    });
    socket.once('close', () => {
      if (connected) resolve({ kind: 'connected-no-answer', detail: 'connection closed' });
    });
  });
}

/**
 * A name nobody has asked before, under the user's zone, through the cluster resolver. Any
 * authoritative answer (even NXDOMAIN) means the resolver recursed to the zone's server on the
 * internet: a channel that carries data out even when the NetworkPolicy is right.
 */
async function probeRecursion(check: DnsRecursionCheck, signal: AbortSignal): Promise<Partial> {
  const name = `ev-${randomBytes(8).toString('hex')}.${check.zone.replace(/\.$/, '')}`;
  const resolver = new Resolver({ timeout: Math.max(200, check.deadlineMs - 300), tries: 1 });
  const facts = { queriedName: name };
  try {
    const result = await abortable(resolver.resolve4(`${name}.`), signal);
    if (result === 'deadline') return { outcome: 'timeout', class: 'blocked', detail: `no answer for ${name} before the deadline`, facts };
    return recursionOpen(name, `resolved to ${result.join(',')}`, facts);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOTFOUND' || code === 'ENODATA') return recursionOpen(name, `answered ${code}`, facts);
    const outcome = code === 'ETIMEOUT' ? 'timeout' : code === 'ECONNREFUSED' ? 'refused' : 'servfail';
    return {
      outcome,
      class: 'blocked',
      detail: `cluster resolver did not recurse for ${name}: ${errorText(err)}`,
      error: errorText(err),
      facts,
    };
  } finally {
    resolver.cancel();
  }
}

function recursionOpen(name: string, how: string, facts: Record<string, string>): Partial {
  return {
    outcome: 'answered',
    class: 'reached',
    detail: `cluster resolver ${how} for fresh name ${name}`,
    facts,
    finding: {
      code: 'dns-recursion-exfiltration',
      failing: true,
      message: 'the cluster resolver recurses to outside authoritative servers: query names carry data out past the NetworkPolicy',
    },
  };
}
