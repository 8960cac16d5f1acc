/**
 * What changed between two runs (pure). A run is reduced to one verdict per check key, so a full
 * report and a compact history entry (the ConfigMap a CronJob keeps) compare the same way.
 */
import type { CheckResult, Verdict } from '../../probes/base/model.js';
import type { Change, Report, ReportDiff } from './report.js';

/** One check's verdict in one run. */
export interface KeyedVerdict {
  /** What is compared across runs: workload, check id and, when a check ran on several nodes, node. */
  key: string;
  id: string;
  target: string;
  workload?: string;
  node?: string;
  verdict: Verdict;
}

export interface RunVerdicts {
  runId?: string;
  startedAt: string;
  verdict: Verdict;
  checks: KeyedVerdict[];
}

/**
 * Probe pod names change every run, so they never enter the key. Nodes do when one check ran on
 * several (`--per-node`); a repeat on the same node keeps its order.
 */
export function keyedVerdicts(results: readonly CheckResult[]): KeyedVerdict[] {
  const base = (r: CheckResult): string => `${r.workload ? `${r.workload} ` : ''}${r.id}`;
  const counts = new Map<string, number>();
  for (const r of results) counts.set(base(r), (counts.get(base(r)) ?? 0) + 1);
  const seen = new Map<string, number>();
  return results.map((r) => {
    let key = base(r);
    if ((counts.get(key) ?? 0) > 1) {
      key = `${key} @${r.node ?? '?'}`;
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      if (n > 1) key = `${key}#${n}`;
    }
    return {
      key,
      id: r.id,
      target: r.target,
      ...(r.workload && { workload: r.workload }),
      ...(r.node && { node: r.node }),
      verdict: r.verdict,
    };
  });
}

/** Only a `run` has a run id; a probe's and an audit's verdicts compare without one. */
function runIdOf(report: Report): string | undefined {
  switch (report.command) {
    case 'run':
      return report.subject?.runId;
    case 'probe':
    case 'audit':
      return undefined;
  }
}

export function runVerdicts(report: Report): RunVerdicts {
  const runId = runIdOf(report);
  return {
    ...(runId && { runId }),
    startedAt: report.startedAt,
    verdict: report.verdict,
    checks: keyedVerdicts(report.results),
  };
}

const isInconclusive = (v: Verdict | undefined): boolean => v === 'inconclusive' || v === 'error';

export function diffRuns(before: RunVerdicts, after: RunVerdicts): ReportDiff {
  const ref = (r: RunVerdicts): ReportDiff['from'] => ({ ...(r.runId && { runId: r.runId }), startedAt: r.startedAt, verdict: r.verdict });
  const diff: ReportDiff = { from: ref(before), to: ref(after), newBypasses: [], fixed: [], becameInconclusive: [], other: [] };
  const old = new Map(before.checks.map((c) => [c.key, c]));
  const now = new Map(after.checks.map((c) => [c.key, c]));
  for (const key of new Set([...old.keys(), ...now.keys()])) {
    const a = old.get(key);
    const b = now.get(key);
    const from = a?.verdict;
    const to = b?.verdict;
    if (from === to) continue;
    const { verdict: _v, ...which } = (b ?? a) as KeyedVerdict;
    const change: Change = { ...which, ...(from && { from }), ...(to && { to }) };
    if (to === 'fail') diff.newBypasses.push(change);
    else if (from === 'fail' && to === 'pass') diff.fixed.push(change);
    else if (isInconclusive(to) && (from === 'pass' || from === 'fail')) diff.becameInconclusive.push(change);
    else diff.other.push(change);
  }
  return diff;
}

export const diffIsEmpty = (d: ReportDiff): boolean =>
  d.newBypasses.length + d.fixed.length + d.becameInconclusive.length + d.other.length === 0;

/** The four kinds of change, titled, in the order every rendering shows them. */
export function changeGroups(d: ReportDiff): [string, Change[]][] {
  return [
    ['New bypasses', d.newBypasses],
    ['Fixed', d.fixed],
    ['Became inconclusive', d.becameInconclusive],
    ['Other changes', d.other],
  ];
}

const line = (c: Change): string => `${c.key}  ${c.from ?? 'absent'} -> ${c.to ?? 'absent'}  (${c.target})`;

/** The terminal rendering of `report diff`. */
export function renderDiffText(d: ReportDiff): string {
  const out = [`egress-verify diff: ${d.from.startedAt} (${d.from.verdict}) -> ${d.to.startedAt} (${d.to.verdict})`];
  if (diffIsEmpty(d)) out.push('no check changed its verdict');
  for (const [title, changes] of changeGroups(d)) {
    if (changes.length === 0) continue;
    out.push(`${title.toLowerCase()} (${changes.length}):`, ...changes.map((c) => `  ${line(c)}`));
  }
  return `${out.join('\n')}\n`;
}
