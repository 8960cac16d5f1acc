/**
 * `egress-verify probe`: the program inside a probe pod. Reads a plan, runs it, prints results.
 */

import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import type { ProbePlan } from '../../probes/base/model.js';
import { parsePorts } from '../../probes/base/ports.js';
import { type Catalogue, defaultCatalogue, expandCatalogue, extendCatalogue, parseCatalogue } from '../../probes/catalogue.js';
import { PLAN_ENV, parsePlan, validatePlan } from '../../probes/plan.js';
import { runPlan } from '../../probes/runner.js';
import { withPortSweeps } from '../../probes/sweep.js';
import { renderTerminationMessage } from '../../probes/wire.js';
import { UsageError } from '../base/errors.js';
import { readInput } from '../base/input.js';
import { log } from '../base/log.js';
import { parseOutputs, summarizeOnTerminal, writeOutputs } from '../report/output.js';
import { buildReport, exitCodeFor } from '../report/report.js';

export interface ProbeOptions {
  plan?: string;
  catalogue?: string;
  extend: string[];
  companion?: string;
  companionCa?: string;
  printPlan: boolean;
  output: string[];
  tapVersion?: string;
  terminationLog?: string;
  settleMs: string;
  ports?: string;
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
  return planFor(loadCatalogue(opts), opts.companion, caPem);
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

/** What a plan is made of that is read locally: checked before any cluster is contacted. */
export interface LocalPlan {
  catalogue: Catalogue;
  sweep?: { hosts: string[]; ports: number[] };
}

/** The default catalogue, or --catalogue, plus every --extend; --ports and what it sweeps. */
export function loadCatalogue(opts: { catalogue?: string; extend: string[]; ports?: string }): LocalPlan {
  let catalogue =
    opts.catalogue === undefined ? defaultCatalogue() : parseCatalogue(readInput(opts.catalogue, 'catalogue'), opts.catalogue);
  for (const file of opts.extend) catalogue = extendCatalogue(catalogue, parseCatalogue(readInput(file, 'catalogue'), file));
  if (opts.ports === undefined) return { catalogue };
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
  return { catalogue, sweep: { hosts, ports } };
}

export function checkCompanionUrl(companion: string): string {
  try {
    new URL(companion);
  } catch {
    throw new UsageError(`companion "${companion}" is not a URL (e.g. http://egress-guardian-svc:8080)`);
  }
  return companion;
}

/** The catalogue expanded for this companion; with --ports, the sweeps. */
export function planFor(local: LocalPlan, companion: string, caPem: string | undefined): ProbePlan {
  const target = { url: checkCompanionUrl(companion) };
  const plan = expandCatalogue(local.catalogue, target, caPem);
  if (local.sweep === undefined) return plan;
  return validatePlan(withPortSweeps(plan, local.sweep.hosts, local.sweep.ports, target), 'catalogue');
}

export async function probeCommand(opts: ProbeOptions): Promise<number> {
  const outputs = parseOutputs(opts.output.length > 0 ? opts.output : ['jsonl'], opts.tapVersion);
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
  summarizeOnTerminal(outputs, report);
  if (opts.terminationLog !== undefined) {
    try {
      writeFileSync(opts.terminationLog, renderTerminationMessage(report.results));
    } catch (err) {
      log.warn({ path: opts.terminationLog, err: String(err) }, 'could not write the termination message');
    }
  }
  return exitCodeFor(report.verdict);
}
