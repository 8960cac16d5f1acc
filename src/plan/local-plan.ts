/**
 * The plan's local half, shared by `probe` and `run`: the catalogue with its --extend files and
 * --ports, read and checked before any cluster is contacted, then expanded for a companion.
 */
import { isIPv4 } from 'node:net';
import type { ProbePlan } from '../../probes/base/model.js';
import { parsePorts } from '../../probes/base/ports.js';
import { type Catalogue, defaultCatalogue, expandCatalogue, extendCatalogue, parseCatalogue } from '../../probes/catalogue.js';
import { validatePlan } from '../../probes/plan.js';
import { withPortSweeps } from '../../probes/sweep.js';
import { UsageError } from '../base/errors.js';
import { readInput } from '../base/input.js';

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
