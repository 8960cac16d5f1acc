/**
 * The one report shape every subcommand writes (schema: reports/report.schema.json). TAP, JUnit
 * and the probe's JSON lines are renderings of it.
 */
import type { CheckResult, Verdict } from '../../probes/model.js';
import { toolVersion } from '../package-root.js';

export type Command = 'probe' | 'run' | 'audit';

export interface Summary {
  total: number;
  pass: number;
  fail: number;
  inconclusive: number;
  error: number;
}

export interface Report {
  schemaVersion: 1;
  tool: { name: 'egress-verify'; version: string };
  command: Command;
  startedAt: string;
  finishedAt: string;
  verdict: Verdict;
  summary: Summary;
  results: CheckResult[];
  warnings?: string[];
  subject?: Subject;
}

/** What a `run` tested, as observed through the API. */
export interface Subject {
  cluster?: string;
  namespace?: string;
  workload?: string;
  runId?: string;
  companion?: string;
  image?: string;
  pods?: { name: string; node?: string; outcome?: string }[];
}

/** Any fail beats an error, an error beats inconclusive; nothing proven is not a pass. */
export function overallVerdict(results: readonly CheckResult[]): Verdict {
  if (results.length === 0) return 'inconclusive';
  for (const v of ['fail', 'error', 'inconclusive'] as const) {
    if (results.some((r) => r.verdict === v)) return v;
  }
  return 'pass';
}

export function summarize(results: readonly CheckResult[]): Summary {
  const summary: Summary = { total: results.length, pass: 0, fail: 0, inconclusive: 0, error: 0 };
  for (const r of results) summary[r.verdict]++;
  return summary;
}

export function buildReport(command: Command, results: CheckResult[], startedAt: Date, finishedAt: Date): Report {
  return {
    schemaVersion: 1,
    tool: { name: 'egress-verify', version: toolVersion },
    command,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    verdict: overallVerdict(results),
    summary: summarize(results),
    results,
  };
}
