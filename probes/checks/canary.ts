/**
 * The enforcement canary: a request through the companion that its policy must refuse, to a
 * destination it denies or carrying a canary secret. It passes only on the companion's own
 * refusal; the origin's answer means the companion let it through.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { urlEndpoint } from '../base/endpoint.js';
import type { CanaryCheck, CanarySecret, Observation } from '../base/model.js';
import { judgeRefusal } from './origin.js';
import { fetchAnswer, handshake, tlsThroughCompanionFailed } from './proxy.js';
import { errorText } from './socket-outcome.js';
import { openTunnel } from './tunnel.js';

type Partial = Omit<Observation, 'durationMs'>;

/** Refusal codes that are the companion's policy: HTTP 403/451 to CONNECT, SOCKS5 "not allowed by ruleset". */
const POLICY_CONNECT_STATUSES = [403, 451];
const SOCKS_NOT_ALLOWED = 2;

export async function runCanary(check: CanaryCheck, signal: AbortSignal, ca: string | undefined): Promise<Partial> {
  const url = new URL(check.url);
  const { host, port } = urlEndpoint(check.url);
  const tunnel = await openTunnel(check.companion, host, port, signal);
  if (!tunnel.ok) return tunnelRefusal(check, tunnel.observation);
  let socket: Socket = tunnel.socket;
  try {
    if (url.protocol === 'https:') {
      try {
        socket = await handshake(tunnel.socket, host, ca, signal);
      } catch (err) {
        // An unfinished handshake is no refusal a client can tell from a broken path.
        return tlsThroughCompanionFailed(err);
      }
    }
    const { target, headers, form } = carrying(check.url, check.secret);
    const answer = await fetchAnswer(url.protocol === 'https:' ? httpsRequest : httpRequest, target, socket, signal, headers, form);
    const judged = judgeRefusal(answer, check.origin);
    return { ...judged, detail: `${judged.detail} (${describeSecret(check.secret)}through ${check.companion.url})` };
  } catch (err) {
    return {
      outcome: 'upstream-error',
      class: 'indeterminate',
      detail: `no answer to the canary request through the companion: ${errorText(err)}`,
      error: errorText(err),
    };
  } finally {
    socket.destroy();
    tunnel.socket.destroy();
  }
}

/**
 * A tunnel that did not open. A policy refusal of the destination passes a destination canary,
 * but not a secret canary: the secret was never sent, so its rule is not what refused it. A
 * demand for credentials (or a port that is no proxy) refuses before any policy applies.
 */
function tunnelRefusal(check: CanaryCheck, observation: Partial): Partial {
  if (observation.outcome !== 'proxy-refused') return observation;
  const status = observation.facts?.connectStatus;
  const policy =
    (typeof status === 'number' && POLICY_CONNECT_STATUSES.includes(status)) || observation.facts?.socksReply === SOCKS_NOT_ALLOWED;
  if (!policy) return { ...observation, class: 'indeterminate', detail: `${observation.detail}: not the policy's refusal` };
  if (check.secret !== undefined) {
    return {
      ...observation,
      class: 'indeterminate',
      detail: `${observation.detail}: the destination itself is refused, so the canary secret was never sent`,
    };
  }
  return observation;
}

/** Pure: the request's URL, headers and form body with the secret where the check puts it. */
export function carrying(
  url: string,
  secret: CanarySecret | undefined,
): { target: string; headers: Record<string, string>; form?: string } {
  if (secret === undefined) return { target: url, headers: {} };
  switch (secret.in) {
    case 'header':
      return { target: url, headers: { [secret.name]: secret.value } };
    case 'query': {
      const u = new URL(url);
      u.searchParams.append(secret.name, secret.value);
      return { target: u.toString(), headers: {} };
    }
    case 'body':
      return { target: url, headers: {}, form: new URLSearchParams({ [secret.name]: secret.value }).toString() };
  }
}

const describeSecret = (s: CanarySecret | undefined): string => (s === undefined ? '' : `secret in ${s.in} ${s.name}, `);
