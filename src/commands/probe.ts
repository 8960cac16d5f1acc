/**
 * `egress-verify probe`: the program inside a probe pod. Reads a plan, runs it, prints results.
 */

import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { defaultCatalogue, expandCatalogue, extendCatalogue, parseCatalogue } from '../../probes/catalogue.js';
import type { ProbePlan } from '../../probes/model.js';
import { PLAN_ENV, parsePlan, validatePlan } from '../../probes/plan.js';
import { parsePorts } from '../../probes/ports.js';
import { runPlan } from '../../probes/runner.js';
import { withPortSweeps } from '../../probes/sweep.js';
import { renderTerminationMessage } from '../../probes/wire.js';
import { exitCodeFor, UsageError } from '../errors.js';
import { log } from '../log.js';
import { parseOutputs, writeOutputs } from '../output.js';
import { buildReport } from '../report/report.js';

export interface ProbeOptions {
  plan?: string;
  catalogue?: string;
  extend: string[];
  companion?: string;
  companionCa?: string;
  printPlan: boolean;
  output: string[];
  terminationLog?: string;
  settleMs: string;
  ports?: string;
}

export function readInput(path: string, what: string): string {
  try {
    return path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}

export function loadPlan(opts: ProbeOptions): ProbePlan {
  if (opts.plan !== undefined) return parsePlan(readInput(opts.plan, 'plan'), opts.plan === '-' ? 'stdin' : opts.plan);
  const fromEnv = process.env[PLAN_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return parsePlan(fromEnv, `$${PLAN_ENV}`);
  if (opts.companion === undefined) {
    throw new UsageError(
      `no plan: give --plan FILE (or - for stdin), set $${PLAN_ENV}, or give --companion URL to expand the target catalogue`,
    );
  }
  const caPem = opts.companionCa === undefined ? undefined : readCompanionCa(opts.companionCa);
  return planFromCatalogue(opts, opts.companion, caPem);
}

export function readCompanionCa(path: string): string {
  return checkPem(readInput(path, 'companion CA'), path);
}

/**
 * Keeps only the CERTIFICATE blocks: a companion's CA Secret often holds its private key too,
 * and the plan travels in the probe pod's environment.
 */
export function checkPem(pem: string, source: string): string {
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  try {
    if (certs.length === 0) throw new Error('no CERTIFICATE block');
    for (const cert of certs) new X509Certificate(cert);
  } catch (err) {
    throw new UsageError(`companion CA ${source} is not a PEM certificate`, { cause: err });
  }
  return `${certs.join('\n')}\n`;
}

/** The default catalogue, or --catalogue, plus every --extend, expanded for this companion; --ports adds sweeps. */
export function planFromCatalogue(
  opts: { catalogue?: string; extend: string[]; ports?: string; companionConcurrency?: number },
  companion: string,
  caPem: string | undefined,
): ProbePlan {
  let catalogue =
    opts.catalogue === undefined ? defaultCatalogue() : parseCatalogue(readInput(opts.catalogue, 'catalogue'), opts.catalogue);
  for (const file of opts.extend) catalogue = extendCatalogue(catalogue, parseCatalogue(readInput(file, 'catalogue'), file));
  try {
    new URL(companion);
  } catch {
    throw new UsageError(`companion "${companion}" is not a URL (e.g. http://egress-guardian-svc:8080)`);
  }
  const target = { url: companion };
  const plan = expandCatalogue(catalogue, target, caPem);
  if (opts.ports === undefined) return plan;
  let ports: number[];
  try {
    ports = parsePorts(opts.ports);
  } catch (err) {
    throw new UsageError(`--ports: ${(err as Error).message}`, { cause: err });
  }
  // Swept: the outside targets' literal addresses (IPv4), each against its own control.
  const hosts = (catalogue.outside ?? []).flatMap((t) => {
    const host = new URL(t.url).hostname;
    const address = t.address ?? host;
    return isIPv4(address) ? [address] : [];
  });
  if (hosts.length === 0) throw new UsageError('--ports: the catalogue has no outside target with a literal IPv4 address to sweep');
  return validatePlan(withPortSweeps(plan, hosts, ports, target, opts.companionConcurrency), 'catalogue');
}

export async function probeCommand(opts: ProbeOptions): Promise<number> {
  const outputs = parseOutputs(opts.output.length > 0 ? opts.output : ['jsonl']);
  const plan = loadPlan(opts);
  if (opts.printPlan) {
    process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
    return 0;
  }
  const settleMs = Number(opts.settleMs);
  if (!Number.isInteger(settleMs) || settleMs < 0 || settleMs > 60_000) throw new UsageError('--settle-ms must be 0-60000');
  // Policy agents program a new pod's rules asynchronously after it gets its address; a dial
  // in that window would report a bypass the steady-state policy does not have.
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const startedAt = new Date();
  log.info({ checks: plan.checks.length }, 'probe started');
  const results = await runPlan(plan);
  const report = buildReport('probe', results, startedAt, new Date());
  writeOutputs(outputs, report);
  if (opts.terminationLog !== undefined) {
    try {
      writeFileSync(opts.terminationLog, renderTerminationMessage(report.results));
    } catch (err) {
      log.warn({ path: opts.terminationLog, err: String(err) }, 'could not write the termination message');
    }
  }
  return exitCodeFor(report.verdict);
}
