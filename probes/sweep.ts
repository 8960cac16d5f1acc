/**
 * The tcp-sweep's judgement and its place in a plan: each port through the truth table, and
 * sweeps added for the addresses a plan's controls reach.
 */

import { DEFAULT_COMPANION_CONCURRENCY } from './base/companion-budget.js';
import type { Companion, Observation, Outcome, ProbePlan, TcpSweepCheck, Verdict } from './base/model.js';
import { DIRECT_FACT, foldPorts, parsePorts, TUNNEL_FACT } from './base/ports.js';
import { type ControlState, controlStandsFor, decide } from './verdict.js';

const OUTCOME_CLASS: Partial<Record<Outcome, Observation['class']>> = {
  connected: 'reached',
  timeout: 'blocked',
  refused: 'blocked',
  unreachable: 'blocked',
  reset: 'blocked',
  filtered: 'blocked',
};

/**
 * Each port through the truth table: its raw connect against its own tunnel (the same port
 * proven through the companion) or else the host's control; then the ports folded by verdict.
 * Open ports are listed one by one. The sweep's verdict is the worst of its ports'.
 */
export function judgeSweep(
  check: TcpSweepCheck,
  observation: Observation,
  hostControl: ControlState,
): { verdict: Verdict; reason: string } | undefined {
  // Doubted by the path watch, the sweep is judged as a whole (inconclusive), never port by port.
  if (observation.outcome === 'path-unsteady') return undefined;
  const facts = Object.entries(observation.facts ?? {});
  const direct = facts.filter(([k]) => k.startsWith(DIRECT_FACT));
  if (direct.length === 0) return undefined;
  const tunnelled = new Set(facts.filter(([k]) => k === `${TUNNEL_FACT}reached`).flatMap(([, v]) => parsePorts(String(v))));
  const byVerdict = new Map<Verdict, { ports: number[]; reasons: Set<string> }>();
  const add = (verdict: Verdict, port: number, reason: string): void => {
    const entry = byVerdict.get(verdict) ?? { ports: [], reasons: new Set<string>() };
    entry.ports.push(port);
    entry.reasons.add(reason);
    byVerdict.set(verdict, entry);
  };
  const unseen = new Set(parsePorts(check.ports));
  for (const [key, value] of direct) {
    const outcome = key.slice(DIRECT_FACT.length) as Outcome;
    for (const port of parsePorts(String(value))) {
      unseen.delete(port);
      const { verdict, reason } = decide(
        'blocked',
        { outcome, class: OUTCOME_CLASS[outcome] ?? 'error', durationMs: 0, detail: '' },
        tunnelled.has(port) ? 'proven-port' : hostControl,
      );
      add(verdict, port, reason);
    }
  }
  // A port the sweep never dialled proved nothing.
  for (const port of unseen) add('error', port, 'not dialled before the deadline');
  const order: Verdict[] = ['fail', 'error', 'inconclusive', 'pass'];
  const parts = order.flatMap((v) => {
    const entry = byVerdict.get(v);
    if (entry === undefined) return [];
    const ports = v === 'fail' ? entry.ports.sort((a, b) => a - b).join(', ') : foldPorts(entry.ports);
    return [`${v} ${ports} (${[...entry.reasons].join('; ')})`];
  });
  const verdict = order.find((v) => byVerdict.has(v)) ?? 'inconclusive';
  const lead = verdict === 'fail' ? `open TCP port(s) ${byVerdict.get('fail')?.ports.join(', ')}: ` : '';
  return { verdict, reason: `${lead}${parts.join('; ')}` };
}

/** Connects in flight at once: 1,000 ports in about one deadline on an engine that drops. */
export const SWEEP_CONCURRENCY = 1024;

/**
 * Adds a tcp-sweep of `ports` to every literal outside address that a positive control of the
 * plan reaches (the sweep's host-level control). Its deadline covers the connects in waves of
 * SWEEP_CONCURRENCY plus two port deadlines for the tunnels; what does not fit is judged
 * against the host's control (a refusal then stays inconclusive).
 */
export function withPortSweeps(
  plan: ProbePlan,
  hosts: readonly string[],
  ports: readonly number[],
  companion: Companion,
  companionConcurrency = DEFAULT_COMPANION_CONCURRENCY,
): ProbePlan {
  const sweeps: TcpSweepCheck[] = [];
  for (const host of new Set(hosts)) {
    const control = plan.checks.find((c) => c.expect === 'reachable' && c.control === undefined && controlStandsFor(c, host));
    const portDeadlineMs = control?.deadlineMs ?? 5000;
    sweeps.push({
      id: `tcp-sweep/${host}`,
      kind: 'tcp-sweep',
      expect: 'blocked',
      host,
      ports: foldPorts(ports),
      companion,
      portDeadlineMs,
      concurrency: SWEEP_CONCURRENCY,
      companionConcurrency,
      deadlineMs: (Math.ceil(ports.length / SWEEP_CONCURRENCY) + 2) * portDeadlineMs + 1000,
      ...(control && { control: control.id }),
    });
  }
  return { ...plan, checks: [...plan.checks, ...sweeps] };
}
