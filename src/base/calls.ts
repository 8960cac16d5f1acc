/**
 * Many similar API reads made few: each request is a round trip, and the Kubernetes client opens a
 * TLS connection per request, so a hundred at once cost the process as much as a hundred in turn.
 */

/** API reads in flight at once where each item needs its own: enough to hide round trips, few handshakes at a time. */
export const READS_AT_ONCE = 16;

/**
 * `call` over `items`, at most `limit` at a time, results in item order. Every call runs even
 * after one fails; then the failure of the first item in order is thrown, so the error a run
 * reports does not depend on which request came back first.
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, call: (item: T) => Promise<R>): Promise<R[]> {
  const settled: PromiseSettledResult<R>[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) {
      try {
        settled[i] = { status: 'fulfilled', value: await call(items[i] as T) };
      } catch (reason) {
        settled[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return settled.map((s) => {
    if (s.status === 'rejected') throw s.reason;
    return s.value;
  });
}

/** `call` made once per key: later callers with the same key share the first call's outcome, value or failure. */
export function oncePerKey<A, R>(keyOf: (arg: A) => string, call: (arg: A) => Promise<R>): (arg: A) => Promise<R> {
  const made = new Map<string, Promise<R>>();
  return (arg) => {
    const key = keyOf(arg);
    const known = made.get(key);
    if (known !== undefined) return known;
    const first = call(arg);
    made.set(key, first);
    return first;
  };
}
