/**
 * A short summary for pull requests and chat (GitHub-flavoured Markdown): the verdict first, then
 * only what needs a look. The full story is in the HTML or JSON report.
 */
import type { CheckResult, Verdict } from '../../probes/base/model.js';
import { findingLocations, severityRank } from '../audit/finding.js';
import { changeGroups } from './diff.js';
import { countsText, needsNoAttention, type Report } from './report.js';

/** Rows per table or list: a pull-request comment is a pointer, not the report. */
export const MARKDOWN_ROWS = 20;

/**
 * Values come from the cluster and the network. Escaped: what is inline syntax anywhere in a
 * line (emphasis, code, links, HTML, entities, GitHub's $math$), `|` which splits table cells,
 * and newlines, which would end a table row or a list item.
 */
export const escapeMarkdown = (s: string): string => s.replace(/[\\`*_[\]<>|~&$]/g, '\\$&').replace(/\r?\n/g, '<br>');

const VERDICT_ORDER: readonly Verdict[] = ['fail', 'error', 'inconclusive', 'pass'];

export function renderMarkdown(report: Report): string {
  const e = escapeMarkdown;
  const where = [report.subject?.namespace, report.subject?.workload].filter(Boolean).join('/');
  const s = report.summary;
  const out = [`**egress-verify: ${e(report.verdict.toUpperCase())}** — ${e(report.command)}${where && ` of ${e(where)}`}`, ''];
  switch (report.command) {
    case 'audit':
      out.push(`${s.total} rules: ${s.pass} pass, ${s.fail} fail (fail-on ${e(report.failOn)}); ${report.findings.length} findings`);
      break;
    case 'probe':
    case 'run':
      out.push(`${s.total} checks: ${countsText(s)}`);
      break;
  }
  out.push(`Started ${e(report.startedAt)}${report.subject?.runId ? `, run ${e(report.subject.runId)}` : ''}`);

  const notPassed = report.results
    .filter((r) => !needsNoAttention(r))
    .sort((a, b) => VERDICT_ORDER.indexOf(a.verdict) - VERDICT_ORDER.indexOf(b.verdict));
  if (notPassed.length > 0) {
    out.push('', '| Check | Pod / node | Verdict | Reason |', '| --- | --- | --- | --- |');
    out.push(...bounded(notPassed, row));
  }

  const serious = (report.findings ?? []).filter((f) => severityRank(f.severity) >= severityRank('high'));
  if (serious.length > 0) {
    out.push('', `**Audit findings, high and critical** (${serious.length} of ${report.findings?.length ?? 0})`, '');
    out.push(
      ...bounded(serious, (f) => {
        const o = f.object;
        const at = f.location ? ` (${e(findingLocations(f).join(', '))})` : '';
        return `- **${e(f.severity)}** ${e(f.ruleId)}: ${e(`${o.kind}/${o.namespace ? `${o.namespace}/` : ''}${o.name}`)}${at}: ${e(f.message)}`;
      }),
    );
  }

  const d = report.changes;
  if (d) {
    out.push('', `**Changes since ${e(d.from.startedAt)}** (${e(d.from.verdict)} then)`);
    const groups = changeGroups(d);
    const nonEmpty = groups.filter(([, list]) => list.length > 0);
    if (nonEmpty.length === 0) out.push('', 'No check changed its verdict.');
    for (const [title, list] of nonEmpty) {
      out.push('', `${title} (${list.length}):`, '');
      out.push(...bounded(list, (c) => `- ${e(c.key)}: ${e(c.from ?? 'absent')} → ${e(c.to ?? 'absent')} (${e(c.target)})`));
    }
  }
  return `${out.join('\n')}\n`;
}

function row(r: CheckResult): string {
  const e = escapeMarkdown;
  const check = r.workload ? `${r.workload} ${r.id}` : r.id;
  const where = [r.pod, r.node].filter(Boolean).join(' / ') || 'local';
  return `| ${e(check)} | ${e(where)} | **${e(r.verdict)}** | ${e(r.reason)} |`;
}

function bounded<T>(items: readonly T[], line: (item: T) => string): string[] {
  const shown = items.slice(0, MARKDOWN_ROWS).map(line);
  const rest = items.length - shown.length;
  return rest > 0 ? [...shown, '', `… and ${rest} more (see the full report)`] : shown;
}
