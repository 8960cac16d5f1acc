/**
 * Tunnels a run offers the companion at once when `--companion-concurrency` is not given. The
 * lab companion (mitmproxy intercepting TLS) alone answered 32 at once within a quarter of the
 * 3 s default deadline (`npm run bench:companion`); on the lab cluster, with the probe pods
 * starting on the same two cores, 60 probe pods at 32 left 14 of 600 checks inconclusive, at 16
 * none (docs/benchmarks.md).
 */
export const DEFAULT_COMPANION_CONCURRENCY = 16;
