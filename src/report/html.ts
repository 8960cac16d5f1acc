/**
 * The auditor's page: one self-contained HTML file that opens from disk, loads nothing and runs
 * no script. Every value in a report came from the cluster or the network, so all of it goes
 * through the `html` template tag, which escapes whatever it did not build itself.
 */
import { dump } from 'js-yaml';
import type { CheckResult, Verdict } from '../../probes/base/model.js';
import { type AuditFinding, findingLocations, severityRank } from '../audit/finding.js';
import { changeGroups } from './diff.js';
import { type AuditReport, needsNoAttention, noBlockProven, type ProbeReport, type Report, type RunReport } from './report.js';

/** Markup this module built; anything else interpolated into `html` is text and is escaped. */
class Markup {
  constructor(readonly text: string) {}
}

type Content = string | number | Markup | false | undefined | readonly Content[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

const fragment = (c: Content): string => {
  if (c instanceof Markup) return c.text;
  if (Array.isArray(c)) return c.map(fragment).join('');
  return c === false || c === undefined ? '' : escapeHtml(String(c));
};

function html(strings: TemplateStringsArray, ...values: Content[]): Markup {
  return new Markup(strings.reduce((out, s, i) => out + s + (i < values.length ? fragment(values[i]) : ''), ''));
}

// Worst first, as overallVerdict ranks them: the reader looks at the top of each list.
const VERDICT_ORDER: readonly Verdict[] = ['fail', 'error', 'inconclusive', 'pass', 'skip'];
const byVerdict = (a: CheckResult, b: CheckResult): number => VERDICT_ORDER.indexOf(a.verdict) - VERDICT_ORDER.indexOf(b.verdict);

/** A result with no pod ran in the probe itself (`egress-verify probe`). */
const LOCAL = 'local';

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

export function renderHtml(report: Report): string {
  const where = [report.subject?.namespace, report.subject?.workload].filter(Boolean).join('/');
  const page = html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>egress-verify ${report.command}: ${report.verdict.toUpperCase()}${where && ` — ${where}`}</title>
<style>${new Markup(STYLE)}</style>
</head>
<body>
<header id="verdict" class="verdict verdict-${report.verdict}">
<p class="what">egress-verify ${report.command}${where && ` · ${where}`}</p>
<h1>${report.verdict.toUpperCase()}</h1>
<p class="meaning">${meaning(report)}</p>
</header>
<main>
${subject(report)}
${report.changes && changes(report.changes)}
${matrix(report)}
${details(report.results)}
${findings(report.findings ?? [])}
${exceptions(report.exceptions ?? [])}
${receipts(report.receipts ?? [])}
${warnings(report.warnings ?? [])}
${policies(report)}
</main>
<footer>${report.tool.name} ${report.tool.version} · report schema v${report.schemaVersion}</footer>
</body>
</html>
`;
  return page.text;
}

function meaning(report: Report): string {
  switch (report.command) {
    case 'audit':
      return auditMeaning(report);
    case 'probe':
    case 'run':
      return checksMeaning(report);
  }
}

function auditMeaning(report: AuditReport): string {
  const s = report.summary;
  return report.verdict === 'pass'
    ? `No rule found anything at or above ${report.failOn} severity in the manifests (${plural(s.total, 'rule')} checked).`
    : `${plural(s.fail, 'rule')} of ${s.total} found something at or above ${report.failOn} severity in the manifests.`;
}

function checksMeaning(report: ProbeReport | RunReport): string {
  const s = report.summary;
  switch (report.verdict) {
    case 'pass':
      return `Every check proved what it must: ${plural(s.total, 'check')}, all passed.`;
    case 'fail': {
      const fails = report.results.filter((r) => r.verdict === 'fail');
      const bypasses = fails.filter((r) => r.expect === 'blocked').length;
      const broken = fails.length - bypasses;
      return (
        [
          bypasses > 0 && `${plural(bypasses, 'bypass', 'bypasses')}: traffic got out a way it must not.`,
          broken > 0 && `${plural(broken, 'allowed path')} through the companion did not work as it must.`,
        ]
          .filter(Boolean)
          .join(' ') || `${plural(s.fail, 'check')} failed.`
      );
    }
    case 'inconclusive':
      if (s.total === 0) return 'No check ran: nothing was proven.';
      if (s.inconclusive === 0 && noBlockProven(report.results).length > 0)
        return 'Every check passed, but none proved a path that must be blocked blocked: nothing shows egress is restricted.';
      return s.inconclusive === 0
        ? 'Every check passed, but a finding below keeps the verdict from a pass.'
        : `Nothing failed, but not everything could be proven: ${s.inconclusive} of ${s.total} checks proved nothing either way.`;
    case 'error':
      return `Nothing failed, but the probe could not run ${plural(s.error, 'check')} of ${s.total}: those prove nothing.`;
    case 'skip':
      return 'No check could be sent from the probe pod: nothing was proven.';
  }
}

function subject(report: Report): Markup {
  const sub = report.subject ?? {};
  const seconds = (Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 1000;
  const rows: [string, string | undefined][] = [
    ['Cluster', sub.cluster],
    ['Namespace', sub.namespace],
    ['Workload', sub.workload],
    ['Companion', sub.companion],
    ['Probe image', sub.image],
    ['Image ID', sub.imageId],
    ['Run ID', sub.runId],
    ['Started', report.startedAt],
    ['Finished', Number.isFinite(seconds) ? `${report.finishedAt} (${seconds.toFixed(1)} s)` : report.finishedAt],
    ['Tool', `${report.tool.name} ${report.tool.version}`],
  ];
  const s = report.summary;
  // An audit's rules pass or fail; they are never inconclusive and never error.
  const [counted, counts] = report.command === 'audit' ? ['rules', ['fail', 'pass'] as const] : ['checks', VERDICT_ORDER];
  return html`<section id="subject">
<h2>Subject</h2>
<dl class="facts">${rows.filter(([, v]) => v).map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>
<ul id="summary" class="counts">
<li class="count-total"><b>${s.total}</b> ${counted}</li>
${counts.map((v) => html`<li class="count-${v}"><b>${s[v] ?? 0}</b> ${v}</li>`)}
</ul>
</section>`;
}

function changes(d: NonNullable<Report['changes']>): Markup {
  const groups = changeGroups(d);
  const nonEmpty = groups.filter(([, list]) => list.length > 0);
  return html`<section id="changes">
<h2>Changes since ${d.from.startedAt}</h2>
<p>Previous run${d.from.runId && ` ${d.from.runId}`}: <span class="tag tag-${d.from.verdict}">${d.from.verdict}</span></p>
${nonEmpty.length === 0 && html`<p class="empty">No check changed its verdict.</p>`}
${nonEmpty.map(
  ([title, list]) => html`<h3>${title} (${list.length})</h3>
<ul class="changes">${list.map(
    (c) =>
      html`<li><code>${c.key}</code> <span class="tag tag-${c.from ?? 'none'}">${c.from ?? 'absent'}</span> → <span class="tag tag-${c.to ?? 'none'}">${c.to ?? 'absent'}</span> <span class="target">${c.target}</span></li>`,
  )}</ul>`,
)}
</section>`;
}

/** Checks down, probe pods across: a bypass on one node only stands out as one red cell. */
function matrix(report: Report): Markup {
  if (report.results.length === 0)
    return html`<section id="checks"><h2>Checks</h2><p class="empty">No probe results${report.command === 'audit' && ': an audit reads manifests and probes nothing'}.</p></section>`;
  const columns = new Map<string, { node?: string; outcome?: string }>();
  for (const p of report.subject?.pods ?? []) columns.set(p.name, { node: p.node, outcome: p.outcome });
  const rows = new Map<string, { first: CheckResult; cells: Map<string, number[]> }>();
  report.results.forEach((r, i) => {
    const pod = r.pod ?? LOCAL;
    const column = columns.get(pod) ?? {};
    column.node ??= r.node;
    columns.set(pod, column);
    const key = `${r.workload ?? ''}\n${r.id}`;
    const row = rows.get(key) ?? { first: r, cells: new Map<string, number[]>() };
    row.cells.set(pod, [...(row.cells.get(pod) ?? []), i]);
    rows.set(key, row);
  });
  const cell = (indexes: number[] | undefined): Markup => {
    if (!indexes) return html`<td class="cell-none" data-verdict="none" title="this check did not run on this pod">not run</td>`;
    const results = indexes.map((i) => [i, report.results[i] as CheckResult] as const);
    // A check repeated on one pod: the cell shows each run and takes the worst colour.
    const verdict = VERDICT_ORDER.find((v) => results.some(([, r]) => r.verdict === v)) ?? 'error';
    return html`<td class="cell-${verdict}" data-verdict="${verdict}" title="${results.map(([, r]) => r.reason).join('\n')}">${results.map(
      ([i, r]) =>
        html`<div>${isDetailed(r) ? html`<a href="#r${i}" class="word">${r.verdict}</a>` : html`<span class="word">${r.verdict}</span>`}<span class="outcome">${r.observation.outcome}</span></div>`,
    )}</td>`;
  };
  return html`<section id="checks">
<h2>Checks × probe pods</h2>
<div class="scroll"><table id="matrix">
<thead><tr><th scope="col">Check</th>${[...columns].map(
    ([pod, c]) =>
      html`<th scope="col" class="pod"><span class="pod-name">${pod}</span>${c.node && html`<span class="node">${c.node}</span>`}${c.outcome && html`<span class="pod-outcome">${c.outcome}</span>`}</th>`,
  )}</tr></thead>
<tbody>${[...rows.values()].map(
    ({ first: r, cells }) =>
      html`<tr><th scope="row"><code class="check-id">${r.id}</code>${r.workload && html` <span class="workload">${r.workload}</span>`}<span class="check-what">${r.kind} · must be ${r.expect} · ${r.target}</span></th>${[
        ...columns.keys(),
      ].map((pod) => cell(cells.get(pod)))}</tr>`,
  )}</tbody>
</table></div>
</section>`;
}

const isDetailed = (r: CheckResult): boolean => !needsNoAttention(r) || r.finding !== undefined;

function details(results: readonly CheckResult[]): Markup | false {
  const shown = results.map((r, i) => [i, r] as const).filter(([, r]) => isDetailed(r));
  if (shown.length === 0) return false;
  shown.sort(([, a], [, b]) => byVerdict(a, b));
  return html`<section id="details">
<h2>Details (${shown.length})</h2>
${shown.map(([i, r]) => {
  const o = r.observation;
  const rows: [string, string | number | undefined][] = [
    ['Where', [r.pod, r.node && `on ${r.node}`].filter(Boolean).join(' ') || LOCAL],
    ['Workload', r.workload],
    ['Target', `${r.target} (${r.kind}, must be ${r.expect})`],
    ['Reason', r.reason],
    ['Observed', `${o.outcome} (${o.class}) in ${o.durationMs} ms`],
    ['Detail', o.detail],
    ['Error', o.error],
    ['Control', r.control],
    ['Control source', r.controlSource],
    ['Finding', r.finding && `${r.finding.code}${r.finding.failing ? ' (failing)' : ''}: ${r.finding.message}`],
  ];
  const facts = Object.entries(o.facts ?? {});
  return html`<article id="r${i}" class="result result-${r.verdict}">
<h3><span class="tag tag-${r.verdict}">${r.verdict}</span> <code>${r.id}</code></h3>
<dl class="facts">${rows.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>
${facts.length > 0 && html`<table class="kv"><caption>Facts</caption>${facts.map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${String(v)}</td></tr>`)}</table>`}
</article>`;
})}
</section>`;
}

function findings(list: readonly AuditFinding[]): Markup | false {
  if (list.length === 0) return false;
  const sorted = [...list].sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  return html`<section id="findings">
<h2>Audit findings (${list.length})</h2>
<table class="findings">
<thead><tr><th scope="col">Severity</th><th scope="col">Rule</th><th scope="col">Object</th><th scope="col">What and how to fix it</th></tr></thead>
<tbody>${sorted.map((f) => {
    const o = f.object;
    return html`<tr class="severity-${f.severity}"><td><span class="sev sev-${f.severity}">${f.severity}</span></td><td><code>${f.ruleId}</code></td><td>${o.kind}/${o.namespace && `${o.namespace}/`}${o.name}${findingLocations(f).map((at) => html`<span class="location">${at}</span>`)}</td><td><p>${f.message}</p><p class="fix"><b>Fix:</b> ${f.fix}</p></td></tr>`;
  })}</tbody>
</table>
</section>`;
}

/** Every sanctioned exception of the run, active or not: an auditor sees each direct path allowed and why. */
function exceptions(list: NonNullable<Report['exceptions']>): Markup | false {
  if (list.length === 0) return false;
  return html`<section id="exceptions">
<h2>Sanctioned exceptions (${list.length})</h2>
<table class="findings">
<thead><tr><th scope="col">Status</th><th scope="col">Workload</th><th scope="col">Reached directly</th><th scope="col">Reason</th><th scope="col">Expires</th><th scope="col">Checks</th></tr></thead>
<tbody>${list.map(
    (e) =>
      html`<tr><td>${e.status}</td><td>${e.workload}</td><td><code>${e.url}</code></td><td>${e.reason}</td><td>${e.expires ?? 'never'}</td><td>${e.checks.map((c) => html`<code>${c}</code> `)}</td></tr>`,
  )}</tbody>
</table>
</section>`;
}

/** The inspection receipts: which proxied requests the companion's log shows. */
function receipts(list: NonNullable<Report['receipts']>): Markup | false {
  if (list.length === 0) return false;
  return html`<section id="receipts">
<h2>Inspection receipts (${list.filter((r) => r.status === 'seen').length} of ${list.length} seen)</h2>
<table class="findings">
<thead><tr><th scope="col">Status</th><th scope="col">Check</th><th scope="col">Workload</th><th scope="col">Marker</th></tr></thead>
<tbody>${list.map((r) => html`<tr><td>${r.status}</td><td><code>${r.check}</code></td><td>${r.workload ?? ''}</td><td><code>${r.marker}</code></td></tr>`)}</tbody>
</table>
</section>`;
}

function warnings(list: readonly string[]): Markup | false {
  return (
    list.length > 0 &&
    html`<section id="warnings"><h2>Warnings (${list.length})</h2><ul>${list.map((w) => html`<li>${w}</li>`)}</ul></section>`
  );
}

function policies(report: Report): Markup | false {
  const list = report.subject?.networkPolicies ?? [];
  return (
    list.length > 0 &&
    html`<section id="policies">
<h2>Egress policies during the run (${list.length})</h2>
${list.map(
  (p) =>
    html`<article class="policy"><h3><code>${p.kind ? `${p.kind}/` : ''}${p.name}</code>${p.clusterScoped === true && html` <span class="rv">cluster-scoped</span>`}${p.resourceVersion && html` <span class="rv">resourceVersion ${p.resourceVersion}</span>`}</h3><pre>${dump(p.spec, { lineWidth: -1, noRefs: true })}</pre></article>`,
)}
</section>`
  );
}

// Colour is never alone: every cell and tag also carries its verdict as a word.
const STYLE = `
:root { --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --fail-bg: #ffebe9; --inconclusive: #9a6700;
  --inconclusive-bg: #fff8c5; --error: #6639ba; --error-bg: #ece6f5; --skip: #57606a; --skip-bg: #f6f8fa;
  --line: #d0d7de; --muted: #57606a; }
* { box-sizing: border-box; }
body { margin: 0; color: #1f2328; background: #fff; font: 15px/1.45 system-ui, "Segoe UI", "DejaVu Sans", sans-serif; }
main, footer { max-width: 1200px; margin: 0 auto; padding: 0 24px; }
code, pre, .check-id { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.9em; }
h2 { margin: 32px 0 12px; padding-bottom: 4px; border-bottom: 1px solid var(--line); font-size: 1.3em; }
h3 { margin: 20px 0 8px; font-size: 1.05em; }
.verdict { padding: 28px max(24px, calc((100% - 1152px) / 2)); color: #fff; }
.verdict h1 { margin: 0; font-size: 3em; letter-spacing: 0.04em; line-height: 1.1; }
.verdict .what { margin: 0 0 4px; opacity: 0.9; overflow-wrap: anywhere; }
.verdict .meaning { margin: 8px 0 0; font-size: 1.2em; }
.verdict-pass { background: var(--pass); } .verdict-fail { background: var(--fail); }
.verdict-inconclusive { background: #bf8700; color: #1f2328; } .verdict-error { background: var(--error); }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
.facts dt { color: var(--muted); } .facts dd { margin: 0; overflow-wrap: anywhere; }
.counts { display: flex; flex-wrap: wrap; gap: 8px; padding: 0; margin: 16px 0 0; list-style: none; }
.counts li { padding: 6px 14px; border: 1px solid var(--line); border-radius: 6px; min-width: 96px; }
.counts b { display: block; font-size: 1.6em; }
.count-pass { background: var(--pass-bg); } .count-fail { background: var(--fail-bg); }
.count-inconclusive { background: var(--inconclusive-bg); } .count-error { background: var(--error-bg); }
.count-skip { background: var(--skip-bg); } .cell-skip { background: var(--skip-bg); color: var(--skip); }
.tag-skip { color: var(--skip); background: var(--skip-bg); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--line); padding: 6px 10px; text-align: left; vertical-align: top; }
thead th { background: #f6f8fa; }
#matrix { min-width: 100%; }
#matrix tbody th { font-weight: normal; background: #fff; position: sticky; left: 0; max-width: 460px; }
#matrix .check-id { font-weight: 600; overflow-wrap: anywhere; }
.check-what, .node, .pod-outcome, .location, .workload, .rv { display: block; color: var(--muted); font-size: 0.85em; font-weight: normal; overflow-wrap: anywhere; }
.workload { display: inline; }
.pod-name { overflow-wrap: anywhere; }
#matrix td { text-align: center; white-space: nowrap; min-width: 110px; }
#matrix td .word { display: block; font-weight: 700; text-transform: uppercase; letter-spacing: 0.03em; color: inherit; }
#matrix td .outcome { font-size: 0.85em; }
.cell-pass { background: var(--pass-bg); color: var(--pass); } .cell-fail { background: var(--fail-bg); color: var(--fail); }
.cell-inconclusive { background: var(--inconclusive-bg); color: var(--inconclusive); }
.cell-error { background: var(--error-bg); color: var(--error); } .cell-none { color: var(--muted); background: #f6f8fa; font-size: 0.85em; font-style: italic; }
.tag, .sev { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 0.8em; font-weight: 700; text-transform: uppercase; border: 1px solid currentColor; }
.tag-pass { color: var(--pass); background: var(--pass-bg); } .tag-fail { color: var(--fail); background: var(--fail-bg); }
.tag-inconclusive { color: var(--inconclusive); background: var(--inconclusive-bg); }
.tag-error { color: var(--error); background: var(--error-bg); } .tag-none { color: var(--muted); }
.sev-critical, .sev-high { color: var(--fail); background: var(--fail-bg); } .sev-medium { color: var(--inconclusive); background: var(--inconclusive-bg); }
.sev-low, .sev-info { color: var(--muted); }
.result { border: 1px solid var(--line); border-left: 6px solid var(--line); border-radius: 6px; padding: 4px 16px 12px; margin: 12px 0; }
.result-fail { border-left-color: var(--fail); } .result-error { border-left-color: var(--error); }
.result-inconclusive { border-left-color: #bf8700; } .result-pass { border-left-color: var(--pass); }
.result h3 code { overflow-wrap: anywhere; }
.kv { margin-top: 10px; font-size: 0.9em; } .kv caption { text-align: left; color: var(--muted); }
.findings td p { margin: 0; } .findings .fix { margin-top: 4px; color: var(--muted); }
.changes { padding-left: 20px; } .changes li { margin: 4px 0; } .target { color: var(--muted); overflow-wrap: anywhere; }
pre { background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px; padding: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
.empty { color: var(--muted); font-style: italic; }
footer { margin: 40px auto 24px; color: var(--muted); font-size: 0.85em; }
@media print {
  body { font-size: 11pt; }
  .verdict, .cell-pass, .cell-fail, .cell-inconclusive, .cell-error, .tag, .sev, .counts li { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  .scroll { overflow: visible; } #matrix tbody th { position: static; }
  a { color: inherit; text-decoration: none; }
  tr, .result, .policy { break-inside: avoid; } h2 { break-after: avoid; }
}
`;
