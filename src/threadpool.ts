// Imported first by the CLI, before anything touches libuv's thread pool (its size is read once,
// at first use). getaddrinfo runs on that pool: with the default 4 threads, a few lookups stuck
// on an unreachable resolver would queue every other check's lookup behind them past its deadline.
process.env.UV_THREADPOOL_SIZE ??= '32';
