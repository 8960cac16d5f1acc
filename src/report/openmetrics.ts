/**
 * The report as OpenMetrics text, for alerting on the scheduled audit: node-exporter's textfile
 * collector reads it from a file, a Pushgateway takes it as pushed (src/report/pushgateway.ts).
 *
 * Both parse the Prometheus text format, not OpenMetrics, so the text stays in what the two
 * share: gauges and a summary without quantiles, no sample timestamps (the textfile collector
 * refuses them), and `# EOF`, which the Prometheus parser reads as a comment.
 */
import type { CheckResult, Verdict } from '../../probes/base/model.js';
import type { AuditFinding } from '../audit/finding.js';
import { overallVerdict, type Report } from './report.js';

/** What a run or a group of checks can come to: a skip alone is inconclusive. */
const VERDICTS: readonly Verdict[] = ['pass', 'fail', 'inconclusive', 'error'];
/** What one check can come to. */
const CHECK_VERDICTS: readonly Verdict[] = [...VERDICTS, 'skip'];

type Labels = Record<string, string>;

interface Family {
  name: string;
  type: 'gauge' | 'summary';
  help: string;
  samples: { suffix?: string; labels: Labels; value: number }[];
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function sampleLine(name: string, labels: Labels, value: number): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return `${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${value}`;
}

/** One series per verdict, 1 for the one that holds: alert on `{verdict="pass"} == 0`. */
const oneHot = (labels: Labels, verdict: Verdict): Family['samples'] =>
  VERDICTS.map((v) => ({ labels: { ...labels, verdict: v }, value: v === verdict ? 1 : 0 }));

/** Results grouped by workload and check kind, in report order. */
interface Group {
  labels: Labels;
  results: CheckResult[];
}

function byWorkloadKind(results: readonly CheckResult[]): Map<string, Group> {
  const groups = new Map<string, Group>();
  for (const r of results) {
    const labels = { workload: r.workload ?? '', kind: r.kind };
    const key = JSON.stringify(labels);
    const group: Group = groups.get(key) ?? { labels, results: [] };
    group.results.push(r);
    groups.set(key, group);
  }
  return groups;
}

const seconds = (ms: number): number => Math.round(ms) / 1000;

/** A probe finds nothing; a run's findings are its live audit's; an audit's are the report. */
function findingsOf(report: Report): readonly AuditFinding[] {
  switch (report.command) {
    case 'probe':
      return [];
    case 'run':
      return report.findings ?? [];
    case 'audit':
      return report.findings;
  }
}

export function metricFamilies(report: Report): Family[] {
  const finished = Date.parse(report.finishedAt);
  const command = { command: report.command };
  const groups = [...byWorkloadKind(report.results).values()];
  const findings = new Map<string, { labels: Labels; value: number }>();
  for (const f of findingsOf(report)) {
    const labels = { rule: f.ruleId, severity: f.severity };
    const key = JSON.stringify(labels);
    findings.set(key, { labels, value: (findings.get(key)?.value ?? 0) + 1 });
  }
  return [
    {
      name: 'egress_verify_last_run_timestamp_seconds',
      type: 'gauge',
      help: 'When the last run finished (Unix time): alert when it is older than the schedule.',
      samples: [{ labels: command, value: finished / 1000 }],
    },
    {
      name: 'egress_verify_run_duration_seconds',
      type: 'gauge',
      help: 'How long the last run took.',
      samples: [{ labels: command, value: seconds(finished - Date.parse(report.startedAt)) }],
    },
    {
      name: 'egress_verify_run_verdict',
      type: 'gauge',
      help: "The last run's verdict: 1 for the verdict that holds, 0 for the others.",
      samples: oneHot(command, report.verdict),
    },
    {
      name: 'egress_verify_check_verdict',
      type: 'gauge',
      help: 'Per workload and check kind, the worst verdict of its checks: 1 for the verdict that holds, 0 for the others.',
      samples: groups.flatMap((g) => oneHot(g.labels, overallVerdict(g.results))),
    },
    {
      name: 'egress_verify_checks',
      type: 'gauge',
      help: 'Per workload and check kind, how many checks had each verdict.',
      samples: groups.flatMap((g) =>
        CHECK_VERDICTS.map((v) => ({ labels: { ...g.labels, verdict: v }, value: g.results.filter((r) => r.verdict === v).length })),
      ),
    },
    {
      name: 'egress_verify_check_duration_seconds',
      type: 'summary',
      help: 'Per workload and check kind, the time its checks took.',
      samples: groups.flatMap((g) => [
        { suffix: '_sum', labels: g.labels, value: seconds(g.results.reduce((sum, r) => sum + r.observation.durationMs, 0)) },
        { suffix: '_count', labels: g.labels, value: g.results.length },
      ]),
    },
    {
      name: 'egress_verify_findings',
      type: 'gauge',
      help: 'How many findings each rule made, by severity.',
      samples: [...findings.values()],
    },
  ];
}

export function renderOpenMetrics(report: Report): string {
  // A family with no sample says nothing, and a Pushgateway refuses it.
  const families = metricFamilies(report).filter((f) => f.samples.length > 0);
  const lines = families.flatMap((f) => [
    `# HELP ${f.name} ${f.help}`,
    `# TYPE ${f.name} ${f.type}`,
    ...f.samples.map((s) => sampleLine(`${f.name}${s.suffix ?? ''}`, s.labels, s.value)),
  ]);
  return `${[...lines, '# EOF'].join('\n')}\n`;
}
