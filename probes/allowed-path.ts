/**
 * Before its first check, a probe pod waits for its allowed path to answer: every companion
 * accepts a TCP connection, and the pod's resolver answers every name the plan must resolve.
 * On a busy node a policy agent can program a new pod's rules seconds after it starts; checks
 * dialled before then found the allowed path closed and failed a pod whose twins passed.
 *
 * Waiting can only delay the checks, never change what they see: a path still closed at the end
 * of the wait is dialled and judged as it is (a fail), and no check here is a must-fail one.
 */

import { lookup } from 'node:dns/promises';
import { connect } from 'node:net';
import type { Check } from './base/model.js';
import { abortable } from './checks/deadline.js';
import { errorCode } from './checks/socket-outcome.js';
import { companionEndpoint } from './checks/tunnel.js';

/** One way the pod must get out: a companion to connect to, or a name to resolve. */
export type AllowedPath = { companion: string } | { resolve: string };

export interface AllowedPathWait {
  waitedMs: number;
  /** What still had not answered when the wait ran out: empty when the path is open. */
  silent: string[];
  /** What answered, by `describePath`: the path watch looks for these falling silent (path-watch.ts). */
  answered: Set<string>;
}

/** Asks a path once; `false` when it did not answer within the signal's time. */
export type Ask = (path: AllowedPath, signal: AbortSignal) => Promise<boolean>;

/** How long one attempt may take, and the pause between attempts of the same path. */
const ATTEMPT_MS = 1000;
const PAUSE_MS = 250;

/** The plan's allowed paths, each once: its companions, and the names its pod must resolve. */
export function allowedPaths(checks: readonly Check[]): AllowedPath[] {
  const companions = new Set<string>();
  const names = new Set<string>();
  for (const c of checks) {
    if ('companion' in c) companions.add(c.companion.url);
    if (c.kind === 'dns' && c.mode === 'resolve' && c.expect === 'reachable') names.add(c.name);
  }
  return [...[...companions].map((companion) => ({ companion })), ...[...names].map((resolve) => ({ resolve }))];
}

export function describePath(path: AllowedPath): string {
  return 'companion' in path ? `the companion ${path.companion}` : `the pod's resolver for ${path.resolve}`;
}

/** Waits until every path has answered once, or `withinMs` has passed; attempts are bounded by both. */
export async function awaitAllowedPath(
  paths: readonly AllowedPath[],
  withinMs: number,
  attempt: Ask = pathAsker(),
): Promise<AllowedPathWait> {
  const started = performance.now();
  const left = (): number => Math.ceil(withinMs - (performance.now() - started));
  const maxAttempts = Math.ceil(withinMs / PAUSE_MS) + 1;
  const open = async (path: AllowedPath): Promise<boolean> => {
    for (let n = 0; n < maxAttempts && left() > 0; n++) {
      if (await attempt(path, AbortSignal.timeout(Math.max(1, Math.min(ATTEMPT_MS, left()))))) return true;
      await new Promise((r) => setTimeout(r, Math.min(PAUSE_MS, Math.max(0, left()))));
    }
    return false;
  };
  const opened = await Promise.all(paths.map(open));
  return {
    waitedMs: Math.round(performance.now() - started),
    silent: paths.filter((_, i) => !opened[i]).map(describePath),
    answered: new Set(paths.filter((_, i) => opened[i]).map(describePath)),
  };
}

/**
 * At most one lookup per name is in flight: getaddrinfo cannot be cancelled, and a thread pool
 * full of lookups the window keeps waiting would delay the plan's own lookups past their
 * deadlines, a block the watch itself made. A companion's name is looked up until it resolves
 * once; its Service address then holds.
 */
export function pathAsker(): Ask {
  const pending = new Map<string, Promise<boolean>>();
  const addresses = new Map<string, string>();
  // Any answer from the resolver, a name it does not know included, means the path to it is open.
  const resolve = (name: string): Promise<boolean> => {
    const inFlight = pending.get(name);
    if (inFlight !== undefined) return inFlight;
    const asked = lookup(name).then(
      (a) => {
        addresses.set(name, a.address);
        return true;
      },
      // EAI_AGAIN is getaddrinfo's "no server answered".
      (err: unknown) => errorCode(err) !== 'EAI_AGAIN',
    );
    pending.set(name, asked);
    void asked.finally(() => pending.delete(name));
    return asked;
  };
  return async (path, signal) => {
    // The name as the plan resolves it, search domains and all: made absolute, a cluster's DNS
    // sends it upstream, which a locked-down cluster cannot reach (at 100 pods, every sample
    // failed that way).
    if ('resolve' in path) return (await abortable(resolve(path.resolve), signal)) === true;
    const { host, port } = companionEndpoint(path.companion);
    if (!addresses.has(host) && (await abortable(resolve(host), signal)) === 'deadline') return false;
    const address = addresses.get(host);
    if (address === undefined) return false;
    return new Promise((resolve) => {
      const socket = connect({ host: address, port });
      const end = (ok: boolean): void => {
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        resolve(ok);
      };
      const onAbort = (): void => end(false);
      if (signal.aborted) return end(false);
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => end(true));
      socket.once('error', () => end(false));
    });
  };
}
