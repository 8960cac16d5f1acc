import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { urlEndpoint } from '../base/endpoint.js';
import type { CurlCheck, Observation, ObservationClass, Outcome } from '../base/model.js';
import { findExecutable } from './executable.js';

/**
 * curl exit codes that say something about the route, before a TCP connection exists.
 * (Any failure after curl's TCP connect completed means the route is open: see classifyCurl.)
 * https://curl.se/libcurl/c/libcurl-errors.html
 */
export const CURL_EXIT: Readonly<Record<number, { outcome: Outcome; class: ObservationClass; meaning: string }>> = {
  0: { outcome: 'http-response', class: 'reached', meaning: 'got a response' },
  5: { outcome: 'dns-failure', class: 'indeterminate', meaning: "couldn't resolve proxy" },
  6: { outcome: 'dns-failure', class: 'indeterminate', meaning: "couldn't resolve host" },
  7: { outcome: 'refused', class: 'blocked', meaning: "couldn't connect" },
  28: { outcome: 'timeout', class: 'blocked', meaning: 'operation timed out' },
  35: { outcome: 'reset', class: 'blocked', meaning: 'TLS handshake failed' },
  52: { outcome: 'reset', class: 'blocked', meaning: 'empty reply' },
  56: { outcome: 'reset', class: 'blocked', meaning: 'failure receiving data' },
};

/** Why curl could not connect, from its verbose "connect to X port N failed: REASON" line. */
function connectFailure(stderr: string): Outcome {
  const reason = /connect to .* failed: (.*)/.exec(stderr)?.[1] ?? '';
  if (/No route to host|Network is unreachable|Cannot assign requested address/i.test(reason)) return 'unreachable';
  if (/Operation not permitted|Permission denied/i.test(reason)) return 'filtered';
  if (/timed out/i.test(reason)) return 'timeout';
  // Refused, or a reason we do not know: both need a port-level control to count as blocked.
  return 'refused';
}

interface CurlRun {
  exitCode: number;
  stderr: string;
  /** curl's --write-out '%{json}' fields; absent when curl did not run. */
  writeOut?: { time_connect?: number; num_connects?: number; http_code?: number; remote_ip?: string; errormsg?: string };
}

/** Pure: what one curl run observed. */
export function classifyCurl(run: CurlRun): Omit<Observation, 'durationMs'> {
  const w = run.writeOut ?? {};
  const facts = { curlExit: run.exitCode, httpCode: w.http_code ?? 0, remoteIp: w.remote_ip ?? '' };
  const message = w.errormsg ?? run.stderr.trim().split('\n').at(-1) ?? '';
  const tcpConnected = (w.time_connect ?? 0) > 0 || (w.num_connects ?? 0) > 0;
  if (run.exitCode === 0) {
    return { outcome: 'http-response', class: 'reached', detail: `HTTP ${w.http_code ?? '?'} from ${w.remote_ip ?? '?'}`, facts };
  }
  // A TCP handshake that completed is a route that is open, whatever failed afterwards (TLS, timeout).
  if (tcpConnected) {
    return {
      outcome: 'connected',
      class: 'reached',
      detail: `TCP connected to ${w.remote_ip ?? '?'}, then curl exit ${run.exitCode}: ${message}`,
      error: message,
      facts,
    };
  }
  const known = CURL_EXIT[run.exitCode];
  if (known === undefined) {
    return { outcome: 'probe-error', class: 'error', detail: `curl exit ${run.exitCode}: ${message}`, error: message, facts };
  }
  const outcome = run.exitCode === 7 ? connectFailure(run.stderr) : known.outcome;
  return { outcome, class: known.class, detail: `curl exit ${run.exitCode} (${known.meaning}): ${message}`, error: message, facts };
}

/**
 * The real curl binary, as a subprocess that ignores the proxy would run it. The host is
 * resolved first and pinned with --resolve, so curl dials a literal address and a name that
 * does not resolve is reported as indeterminate, never as blocked.
 */
export async function runCurl(check: CurlCheck, signal: AbortSignal): Promise<Omit<Observation, 'durationMs'>> {
  const curl = findExecutable('curl');
  if (curl === undefined) return { outcome: 'probe-error', class: 'error', detail: 'curl is not on PATH' };
  const { host, port } = urlEndpoint(check.url);
  let address = check.address ?? (isIP(host) !== 0 ? host : undefined);
  if (address === undefined) {
    try {
      address = (await lookup(host)).address;
    } catch (err) {
      return { outcome: 'dns-failure', class: 'indeterminate', detail: `could not resolve ${host} to pin it: ${String(err)}` };
    }
  }
  const pinned = isIP(address) === 6 ? `[${address}]` : address;
  // curl must give up on its own, before the runner's deadline, so its exit code is kept.
  const seconds = Math.max(0.5, (check.deadlineMs - 300) / 1000).toFixed(1);
  const args = [
    '-q', // ignore any .curlrc: it could set a proxy
    '--verbose',
    '--silent',
    '--show-error',
    '--insecure', // any answer is a bypass; the origin's identity does not matter here
    '--output',
    '/dev/null',
    '--max-time',
    seconds,
    '--write-out',
    '%{json}',
    // curl cannot parse a --resolve entry whose host is an IPv6 literal; --connect-to pins any host.
    ...(isIP(host) === 0 ? ['--resolve', `${host}:${port}:${pinned}`] : ['--connect-to', `::${pinned}:${port}`]),
    ...(check.mode === 'noproxy' ? ['--noproxy', '*'] : []),
    check.url,
  ];
  // env-cleared: no HTTPS_PROXY/HTTP_PROXY/ALL_PROXY in any case, nor HOME (no ~/.curlrc).
  const env = check.mode === 'env-cleared' ? {} : process.env;
  const run = await spawnCurl(curl, args, env, signal);
  const observation = classifyCurl(run);
  return { ...observation, facts: { ...observation.facts, pinnedAddress: address } };
}

function spawnCurl(curl: string, args: string[], env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<CurlRun> {
  return new Promise((resolve) => {
    const child = spawn(curl, args, { env, signal, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 65536) stderr += d;
    });
    child.once('error', (err) => {
      // Aborted at the deadline: the same as curl's own timeout (exit 28).
      resolve({ exitCode: signal.aborted ? 28 : 2, stderr: `${stderr}\n${String(err)}` });
    });
    child.once('close', (code) => {
      let writeOut: CurlRun['writeOut'];
      try {
        writeOut = JSON.parse(stdout) as CurlRun['writeOut'];
      } catch {
        writeOut = undefined;
      }
      resolve({ exitCode: code ?? 28, stderr, writeOut });
    });
  });
}
