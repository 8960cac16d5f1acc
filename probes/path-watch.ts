/**
 * While a plan runs, the probe keeps asking its allowed path (every companion, the pod's
 * resolver) whether it still answers. A policy agent reprogramming its rules (kube-router's
 * resync on a busy node) can drop a pod's allowed and forbidden traffic alike for seconds: a
 * must-fail dial made in such a window was blocked by the window, not by the policy, and would
 * read as a pass. The runner dials such a check again once the path answers (runner.ts).
 *
 * Only a path that answered at some time, in the probe's path wait or during the watch, can
 * reveal a window. One that never answers is broken, not unsteady: its must-reach checks fail
 * the run.
 */

import { type AllowedPath, type Ask, pathAsker } from './allowed-path.js';
import type { Check } from './base/model.js';
import { GRACE_MS } from './checks/deadline.js';

/**
 * How long one sample may take. A companion has less than the second after which TCP resends
 * a dropped SYN, so a silence of any length fails its sample. A resolver gets two: the stub
 * resends a dropped query only after five, and at 100 probe pods on this VM CoreDNS took over a
 * second to answer while the companion beside it accepted at once.
 */
const COMPANION_SAMPLE_MS = 900;
const RESOLVER_SAMPLE_MS = 2000;
const sampleMs = (path: AllowedPath): number => ('companion' in path ? COMPANION_SAMPLE_MS : RESOLVER_SAMPLE_MS);
const PAUSE_MS = 500;
/** The longest `silentDuring` waits for a sample after the dial. */
const LAG_MS = RESOLVER_SAMPLE_MS + PAUSE_MS + 100;
/** How long a must-fail check dialled in a silence waits for the path before its second dial. */
export const PATH_BACK_MS = 5000;

/** What the watch can add to a plan's time: a wait for the path, a second dial, two lags. */
export function redialMs(checks: readonly Check[]): number {
  const longest = Math.max(0, ...checks.filter((c) => c.expect === 'blocked').map((c) => c.deadlineMs + GRACE_MS));
  return longest === 0 ? 0 : PATH_BACK_MS + longest + 3 * LAG_MS;
}

/** Samples a plan of `durationMs` may need per path: one per pause, and some taken at once on a wait. */
export function samplesFor(durationMs: number): number {
  return Math.ceil(durationMs / PAUSE_MS) + 10;
}

interface Sample {
  start: number;
  ok: boolean;
}

export interface PathWatch {
  /**
   * The paths that went silent around [from, to] (performance.now() times), waiting for a sample
   * after `to`: empty when every path that ever answered answered on both sides with no silence
   * between. What is known now; a path that first answers later may add to it.
   */
  silentDuring(from: number, to: number): Promise<string[]>;
  /** Waits up to `withinMs` for every path that ever answered to answer again after `since`. */
  answersAfter(since: number, withinMs: number): Promise<boolean>;
  stop(): void;
}

export interface WatchOptions {
  /** How a path is asked; loopback in tests. */
  ask?: Ask;
  /** Paths, by `describe`, seen answering before the watch began (the probe's path wait). */
  answered?: ReadonlySet<string>;
}

/**
 * Samples every path until stopped, at most `maxSamples` times each. `describe` names a path in
 * what `silentDuring` returns.
 */
export function watchPaths(
  paths: readonly AllowedPath[],
  maxSamples: number,
  describe: (path: AllowedPath) => string,
  { ask = pathAsker(), answered = new Set() }: WatchOptions = {},
): PathWatch {
  const samples = paths.map((): Sample[] => []);
  const waiters = new Set<() => void>();
  const sleepers = new Set<() => void>();
  let stopped = false;
  // A caller waits for a sample begun at or after this time.
  let hurryTo = Number.NEGATIVE_INFINITY;
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      sleepers.add(done);
    });
  // Cuts every pause short: the next samples begin now.
  const wake = (): void => {
    for (const done of [...sleepers]) done();
  };
  const sample = async (path: AllowedPath, into: Sample[]): Promise<void> => {
    for (let n = 0; n < maxSamples && !stopped; n++) {
      const start = performance.now();
      const ok = await ask(path, AbortSignal.timeout(sampleMs(path))).catch(() => false);
      into.push({ start, ok });
      for (const notify of waiters) notify();
      // Awaited, the next sample comes as soon as it can count, not a full pause later.
      if (!stopped) await pause(start >= hurryTo ? PAUSE_MS : Math.min(PAUSE_MS, Math.max(0, hurryTo - performance.now())));
    }
  };
  const finished = Promise.all(paths.map((p, i) => sample(p, samples[i] ?? [])));
  // Resolves when `ready` holds, or with `ready()` after `withinMs` or once no sample can come.
  const until = (ready: () => boolean, withinMs: number): Promise<boolean> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (ready()) end(true);
      };
      const end = (value: boolean): void => {
        clearTimeout(timer);
        waiters.delete(check);
        resolve(value);
      };
      const timer = setTimeout(() => end(ready()), withinMs);
      waiters.add(check);
      void finished.then(() => end(ready()));
      check();
    });
  const known = paths.map((p) => answered.has(describe(p)));
  const everAnswered = (i: number): boolean => known[i] === true || (samples[i] ?? []).some((s) => s.ok);
  const sampledAfter = (t: number): boolean => samples.every((s) => s.some((x) => x.start >= t));
  return {
    async silentDuring(from, to) {
      hurryTo = Math.max(hurryTo, to);
      wake();
      await until(() => sampledAfter(to), LAG_MS);
      return paths.flatMap((path, i) => {
        if (!everAnswered(i)) return [];
        const own = samples[i] ?? [];
        // From the last sample begun before the dial to the first begun after it, all answered.
        const first = Math.max(
          0,
          own.findLastIndex((s) => s.start <= from),
        );
        const last = own.findIndex((s) => s.start >= to);
        const span = last === -1 ? own.slice(first) : own.slice(first, last + 1);
        return last !== -1 && span.every((s) => s.ok) ? [] : [describe(path)];
      });
    },
    answersAfter(since, withinMs) {
      const back = (): boolean => samples.every((s, i) => !everAnswered(i) || s.some((x) => x.start >= since && x.ok));
      return until(back, withinMs);
    },
    stop() {
      stopped = true;
      wake();
    },
  };
}
