import type { Observation, Outcome } from '../base/model.js';

/**
 * Maps a socket errno to what the network did. EPERM/EACCES on connect come from a local
 * netfilter DROP/REJECT in OUTPUT; most CNIs drop in the host namespace, which shows as a timeout.
 */
export function socketOutcome(code: string | undefined): Pick<Observation, 'outcome' | 'class'> {
  const table: Record<string, Outcome> = {
    ETIMEDOUT: 'timeout',
    ECONNREFUSED: 'refused',
    EHOSTUNREACH: 'unreachable',
    ENETUNREACH: 'unreachable',
    EADDRNOTAVAIL: 'unreachable',
    ECONNRESET: 'reset',
    EPIPE: 'reset',
    EPERM: 'filtered',
    EACCES: 'filtered',
  };
  const outcome = code === undefined ? undefined : table[code];
  return outcome === undefined ? { outcome: 'probe-error', class: 'error' } : { outcome, class: 'blocked' };
}

export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

export function errorText(err: unknown): string {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
}
