import type { Check } from '../base/model.js';

/** Past its deadline a check module has this long to return before the runner gives up on it. */
export const GRACE_MS = 1000;

/** A must-reach check that did not reach is dialled once more, this long after its first dial (runner.ts). */
export const SECOND_DIAL_PAUSE_MS = 1000;

/** The longest the runner can spend on one check: twice its deadline and grace, and the pause, for a must-reach check. */
export function worstCaseMs(check: Check): number {
  const once = check.deadlineMs + GRACE_MS;
  return check.expect === 'reachable' ? 2 * once + SECOND_DIAL_PAUSE_MS : once;
}

/**
 * Settles with 'deadline' when the signal aborts first. For work that cannot be cancelled
 * (getaddrinfo, a proxy tunnel being set up inside a library): the check returns at its
 * deadline and the stray work is left to finish on its own.
 */
export function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T | 'deadline'> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return resolve('deadline');
    const onAbort = (): void => resolve('deadline');
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
