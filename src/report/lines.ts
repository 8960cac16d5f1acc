import type { Report } from './report.js';

/**
 * The probe's wire format on stdout, read back by the controller from the pod's log: one JSON
 * object per line, results first, then one summary line.
 */
export function renderJsonLines(report: Report): string {
  const lines = report.results.map((r) => JSON.stringify({ type: 'result', ...r }));
  const { results: _results, ...summary } = report;
  lines.push(JSON.stringify({ type: 'summary', ...summary }));
  return `${lines.join('\n')}\n`;
}

/** Kubernetes keeps at most 4096 bytes of a termination message. */
export const TERMINATION_MESSAGE_LIMIT = 4096;

/**
 * A compact summary for the termination-message path: the fallback when logs are lost. Ids of
 * the checks that did not pass are listed until the limit, and the list says when it was cut.
 */
export function renderTerminationMessage(report: Report): string {
  const notPassed = report.results.filter((r) => r.verdict !== 'pass').map((r) => `${r.verdict}:${r.id}`);
  const base = { verdict: report.verdict, summary: report.summary, version: report.tool.version, finishedAt: report.finishedAt };
  let shown = notPassed.length;
  for (;;) {
    const text = JSON.stringify({ ...base, notPassed: notPassed.slice(0, shown), truncated: shown < notPassed.length });
    if (Buffer.byteLength(text) <= TERMINATION_MESSAGE_LIMIT || shown === 0) return text;
    shown = Math.floor(shown / 2);
  }
}
