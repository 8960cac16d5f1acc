/**
 * `--pushgateway URL`: the report's metrics (src/report/openmetrics.ts) pushed to a Prometheus
 * Pushgateway, for a scheduled audit that no Prometheus scrapes while it runs.
 */
import { basicAuthorization } from '../../probes/base/credentials.js';
import { ExitCode, InfrastructureError, oneLine, UsageError } from '../base/errors.js';
import type { OutputStream } from '../base/stream.js';
import { renderOpenMetrics } from './openmetrics.js';
import type { Report } from './report.js';

const PUSH_TIMEOUT_MS = 10_000;

/** A base URL, or one that names its own grouping key (`.../metrics/job/NAME[/LABEL/VALUE...]`). */
export function parsePushgateway(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch (err) {
    throw new UsageError(`--pushgateway "${value}" is not a URL`, { cause: err });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--pushgateway "${value}" must be http:// or https://`);
  if (url.search !== '' || url.hash !== '') throw new UsageError(`--pushgateway "${value}" takes no query or fragment`);
  return url;
}

/** What the run was about, so that each CronJob's push replaces its own group and no other's. */
export function pushTarget(report: Report): string {
  switch (report.command) {
    case 'run':
      if (report.subject?.namespace === undefined) return report.command;
      return [report.subject.namespace, report.subject.workload].filter(Boolean).join('/');
    case 'probe':
    case 'audit':
      return report.command;
  }
}

/**
 * The group's URL: the one given when it names a grouping key, else job "egress-verify" and
 * the label `target` (base64url, so a slash in a workload's name stays one value).
 */
export function groupUrl(base: URL, report: Report): URL {
  if (/\/metrics\/job(@base64)?\/[^/]/.test(base.pathname)) return new URL(base);
  const target = Buffer.from(pushTarget(report)).toString('base64url');
  return new URL(`${base.pathname.replace(/\/+$/, '')}/metrics/job/egress-verify/target@base64/${target}`, base);
}

/**
 * PUT, not POST: the group is replaced whole, so a check or workload that is gone from this run
 * does not linger with its old verdict.
 */
export async function pushMetrics(base: URL, report: Report, fetchImpl: typeof fetch = fetch): Promise<void> {
  const url = groupUrl(base, report);
  // fetch refuses a URL with credentials: they go in a header, and never into a message.
  const authorization = basicAuthorization(url);
  const auth = authorization === undefined ? undefined : { authorization };
  url.username = '';
  url.password = '';
  let response: Response;
  try {
    response = await fetchImpl(url, {
      method: 'PUT',
      // The Pushgateway parses this format; the text is the subset it shares with OpenMetrics.
      headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', ...auth },
      body: renderOpenMetrics(report),
      signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
    });
  } catch (err) {
    const why = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    throw new InfrastructureError(`--pushgateway: could not push to ${url.origin}: ${why}`, { cause: err });
  }
  if (!response.ok) {
    const body = (await response.text().catch(() => '')).trim().split('\n')[0]?.slice(0, 200);
    throw new InfrastructureError(`--pushgateway: ${url.origin} answered ${response.status}${body ? `: ${body}` : ''}`);
  }
}

/**
 * After the report is written: a push that failed is said on stderr, and the exit code is 4
 * unless the run failed anyway. The verdict stands, but an audit that alerting never heard of must
 * not look green.
 */
export async function pushAfterRun(
  base: URL | undefined,
  report: Report,
  code: number,
  stderr: OutputStream = process.stderr,
): Promise<number> {
  if (base === undefined) return code;
  try {
    await pushMetrics(base, report);
    return code;
  } catch (err) {
    stderr.write(`${oneLine(err)}\n`);
    return code === ExitCode.fail ? code : ExitCode.infrastructure;
  }
}
