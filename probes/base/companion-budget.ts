/**
 * Tunnels a run offers the companion at once when `--companion-concurrency` is not given: the
 * largest load at which the lab companion (mitmproxy intercepting TLS) answered within a quarter
 * of the 3 s default deadline at the 95th percentile (`npm run bench:companion`,
 * docs/benchmarks.md). Twice that, it took 2 s; four times, it answered nothing in time.
 */
export const DEFAULT_COMPANION_CONCURRENCY = 32;
