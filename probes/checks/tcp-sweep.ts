import type { Observation, Outcome, TcpSweepCheck } from '../base/model.js';
import { parsePorts, sweepFacts } from '../base/ports.js';
import { runProxyConnect } from './proxy.js';
import { runTcp } from './tcp.js';

type Partial = Omit<Observation, 'durationMs'>;

/** Runs `work` over `items`, at most `limit` at a time; stops taking new items once `signal` aborts. */
async function pool<T>(items: readonly T[], limit: number, signal: AbortSignal, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !signal.aborted) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Every port's raw connect, `concurrency` at a time, each under the deadline a single tcp check
 * would have; never retried (one handshake is a bypass). Then, for the ports that were refused
 * or reset (a closed port looks the same as a REJECT), a tunnel to that same port through the
 * companion, `companionConcurrency` at a time. Silent blocks need only the host's control.
 */
export async function runTcpSweep(check: TcpSweepCheck, signal: AbortSignal): Promise<Partial> {
  const ports = parsePorts(check.ports);
  const direct = new Map<number, Outcome>();
  const dial = (port: number, base: { id: string; expect: 'blocked' | 'reachable' }) => ({
    ...base,
    host: check.host,
    port,
    deadlineMs: check.portDeadlineMs,
  });
  await pool(ports, check.concurrency, signal, async (port) => {
    const own = AbortSignal.any([signal, AbortSignal.timeout(check.portDeadlineMs)]);
    const o = await runTcp({ ...dial(port, { id: check.id, expect: 'blocked' }), kind: 'tcp' }, own);
    direct.set(port, o.outcome);
  });
  const ambiguous = ports.filter((p) => direct.get(p) === 'refused' || direct.get(p) === 'reset');
  const tunnel = new Map<number, string>();
  await pool(ambiguous, check.companionConcurrency, signal, async (port) => {
    const own = AbortSignal.any([signal, AbortSignal.timeout(check.portDeadlineMs)]);
    const o = await runProxyConnect(
      // A CONNECT 200 alone proves no origin (a bumping proxy answers it before dialling).
      { ...dial(port, { id: check.id, expect: 'reachable' }), kind: 'proxy-connect', companion: check.companion, proof: 'banner' },
      own,
    );
    tunnel.set(port, o.class);
  });
  const unfinished = ports.filter((p) => !direct.has(p));
  const open = ports.filter((p) => direct.get(p) === 'connected');
  const facts = sweepFacts(direct, tunnel);
  const summary = Object.entries(facts)
    .map(([k, v]) => `${k} ${v}`)
    .join('; ');
  if (open.length > 0)
    return {
      outcome: 'connected',
      class: 'reached',
      detail: `TCP handshake with ${check.host} on port(s) ${open.join(', ')}; ${summary}`,
      facts,
    };
  if (unfinished.length > 0)
    return {
      outcome: 'probe-error',
      class: 'error',
      detail: `sweep of ${check.host} did not reach ${unfinished.length} port(s) before its deadline; ${summary}`,
      facts,
    };
  return {
    outcome: direct.get(ports[0] ?? 0) ?? 'probe-error',
    class: 'blocked',
    detail: `${ports.length} ports of ${check.host}: ${summary}`,
    facts,
  };
}
