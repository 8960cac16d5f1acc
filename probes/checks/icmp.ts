import { spawn } from 'node:child_process';
import { isIPv6 } from 'node:net';
import type { IcmpCheck, Observation } from '../base/model.js';
import { findExecutable } from './executable.js';

interface PingRun {
  exitCode: number;
  output: string;
}

/**
 * Pure: what one `ping -c 1` (iputils) observed. An echo reply is a path out: ICMP tunnels carry
 * data, so a policy that lets echo through is open. iputils exits 0 on a reply, 1 on none, 2 on
 * an error of its own.
 */
export function classifyPing(run: PingRun, target: string): Omit<Observation, 'durationMs'> {
  const lines = run.output.trim().split('\n');
  const last = lines.at(-1) ?? '';
  if (run.exitCode === 0) {
    const reply = lines.find((l) => /bytes from/.test(l)) ?? last;
    return { outcome: 'answered', class: 'reached', detail: `echo reply from ${target}: ${reply.trim()}` };
  }
  // The socket itself was refused: no datagram ICMP socket for this group and no CAP_NET_RAW.
  if (/socket: (Operation not permitted|Permission denied)/i.test(run.output)) {
    return {
      outcome: 'probe-error',
      class: 'error',
      detail: `could not send ICMP: no unprivileged ICMP socket here (net.ipv4.ping_group_range excludes the probe's group) and no CAP_NET_RAW`,
      error: last,
    };
  }
  if (/Network is unreachable|No route to host/i.test(run.output)) {
    return { outcome: 'unreachable', class: 'blocked', detail: `no route to ${target}: ${last}`, error: last };
  }
  // An ICMP error in place of the reply: a router's REJECT (filtered, prohibited) or no host.
  const icmpError = lines.find((l) => /^From .*(Unreachable|Prohibited|filtered)/i.test(l))?.trim();
  if (icmpError !== undefined) {
    const outcome = /Prohibited|filtered/i.test(icmpError) ? 'filtered' : 'unreachable';
    return { outcome, class: 'blocked', detail: `${target}: ${icmpError}`, error: icmpError };
  }
  if (run.exitCode === 1) return { outcome: 'timeout', class: 'blocked', detail: `no echo reply from ${target} before the deadline` };
  return { outcome: 'probe-error', class: 'error', detail: `ping exit ${run.exitCode}: ${last}`, error: last };
}

/** One ICMP echo request to a literal address, by the real iputils `ping`. */
export async function runIcmp(check: IcmpCheck, signal: AbortSignal): Promise<Omit<Observation, 'durationMs'>> {
  const ping = findExecutable('ping');
  if (ping === undefined) return { outcome: 'probe-error', class: 'error', detail: 'ping (iputils) is not on PATH' };
  // ping must give up on its own, before the runner's deadline, so its exit code is kept.
  const seconds = Math.max(1, Math.floor((check.deadlineMs - 300) / 1000));
  const args = [isIPv6(check.host) ? '-6' : '-4', '-n', '-c', '1', '-w', String(seconds), check.host];
  const run = await new Promise<PingRun>((resolve) => {
    const child = spawn(ping, args, { env: {}, signal, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (d: string): void => {
      if (output.length < 16384) output += d;
    };
    child.stdout.setEncoding('utf8').on('data', keep);
    child.stderr.setEncoding('utf8').on('data', keep);
    // Aborted at the deadline: no reply, as ping's own deadline would have said.
    child.once('error', (err) => resolve({ exitCode: signal.aborted ? 1 : 2, output: `${output}\n${String(err)}` }));
    child.once('close', (code) => resolve({ exitCode: code ?? 1, output }));
  });
  return classifyPing(run, check.host);
}
