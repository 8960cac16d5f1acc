/**
 * `egress-verify run`: the post-deploy smoke test and the CronJob audit.
 */
import { join } from 'node:path';
import { auditObjects } from '../audit/audit.js';
import { readLiveObjects } from '../audit/live.js';
import { checkCompanion, checkIdentity, checkNamespace, checkPermissions } from '../controller/preflight.js';
import { probeIdentity, requireCompanion, runProbes } from '../controller/run.js';
import { resolveSelector, resolveWorkload, type WorkloadTarget } from '../controller/target.js';
import { exitCodeFor, UsageError } from '../errors.js';
import { connectKube, isNotFound, type Kube, kubeError } from '../kube/client.js';
import { log } from '../log.js';
import { parseOutputs, writeOutputs } from '../output.js';
import { toolVersion } from '../package-root.js';
import { type AuditFinding, buildReport } from '../report/report.js';
import { checkPem, planFromCatalogue, readCompanionCa } from './probe.js';

export interface RunOptions {
  namespace?: string;
  selector?: string;
  workload: string[];
  companion?: string;
  companionCa?: string;
  catalogue?: string;
  extend: string[];
  image?: string;
  imagePullPolicy: string;
  perNode: boolean;
  startTimeout: string;
  staleAfter: string;
  settle: string;
  kubeconfig?: string;
  context?: string;
  output: string[];
  reportDir: string;
}

export const DEFAULT_IMAGE = `ghcr.io/egress-verify/egress-verify:${toolVersion}`;

function seconds(value: string, flag: string): number {
  const n = Number(value.replace(/s$/, ''));
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new UsageError(`${flag} "${value}" must be a number of seconds (1-3600)`);
  return n * 1000;
}

/** --companion-ca FILE, or secret/NAME[:KEY] in the run's namespace (key ca.crt by default). */
async function companionCa(kube: Kube, spec: string | undefined, namespace: string): Promise<string | undefined> {
  if (spec === undefined) return undefined;
  const m = /^secrets?\/([a-z0-9.-]+)(?::(.+))?$/.exec(spec);
  if (m?.[1] === undefined) return readCompanionCa(spec);
  const name = m[1];
  try {
    const secret = await kube.core.readNamespacedSecret({ name, namespace });
    const data = secret.data ?? {};
    const key = m[2] ?? ('ca.crt' in data ? 'ca.crt' : Object.keys(data).length === 1 ? Object.keys(data)[0] : undefined);
    const value = key === undefined ? undefined : data[key];
    if (value === undefined) throw new UsageError(`secret ${namespace}/${name} has no key ${m[2] ?? 'ca.crt'}`);
    return checkPem(Buffer.from(value, 'base64').toString('utf8'), `secret/${name}:${key}`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (isNotFound(err)) throw new UsageError(`secret ${namespace}/${name} not found (--companion-ca)`, { cause: err });
    throw kubeError(`reading secret ${namespace}/${name}`, err);
  }
}

export async function runCommand(opts: RunOptions, signal: AbortSignal): Promise<number> {
  if (opts.namespace === undefined) throw new UsageError('-n/--namespace is required');
  if ((opts.selector === undefined) === (opts.workload.length === 0)) throw new UsageError('give --selector, or one or more --workload');
  if (!['Always', 'IfNotPresent', 'Never'].includes(opts.imagePullPolicy))
    throw new UsageError('--image-pull-policy must be Always, IfNotPresent or Never');
  const startTimeoutMs = seconds(opts.startTimeout, '--start-timeout');
  const staleAfterMs = seconds(opts.staleAfter, '--stale-after');
  const settleMs = opts.settle === '0' ? 0 : seconds(opts.settle, '--settle');
  const startedAt = new Date();
  const outputs = parseOutputs(
    opts.output.length > 0
      ? opts.output
      : ['tap', `json=${join(opts.reportDir, `egress-verify-run-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`)}`],
  );
  const kube = connectKube(opts);
  const namespace = opts.namespace;

  await checkNamespace(kube, namespace);
  await checkPermissions(kube, namespace);
  const targets: WorkloadTarget[] =
    opts.workload.length > 0
      ? await Promise.all(opts.workload.map((w) => resolveWorkload(kube, namespace, w)))
      : [await resolveSelector(kube, namespace, opts.selector ?? '')];
  const warnings: string[] = [];
  const caPem = await companionCa(kube, opts.companionCa, namespace);
  const workloads = [];
  for (const target of targets) {
    const companion = requireCompanion(target, opts.companion);
    await checkCompanion(kube, companion, namespace, warnings);
    await checkIdentity(kube, target, probeIdentity(target), warnings);
    workloads.push({ target, companion, plan: planFromCatalogue(opts, companion, caPem) });
  }
  // Warnings belong to the report (JSON `warnings`, TAP comments); stderr stays for errors.
  for (const w of new Set(warnings)) log.info({ warning: w }, 'preflight');

  const interactive = process.stderr.isTTY === true;
  const image = opts.image ?? process.env.EGRESS_VERIFY_IMAGE ?? DEFAULT_IMAGE;
  const outcome = await runProbes(kube, {
    workloads,
    image,
    imagePullPolicy: opts.imagePullPolicy as 'Always' | 'IfNotPresent' | 'Never',
    perNode: opts.perNode,
    startTimeoutMs,
    settleMs,
    staleAfterMs,
    signal,
    onProgress: (pod, state) => {
      if (interactive) process.stderr.write(`  ${pod}: ${state}\n`);
      else log.info({ pod, state }, 'probe pod');
    },
  });
  // The live audit explains the verdict (why a bypass exists); it does not change it.
  let findings: AuditFinding[] = [];
  try {
    findings = auditObjects(await readLiveObjects(kube, namespace));
  } catch (err) {
    outcome.warnings.push(`live audit skipped: ${(err as Error).message}`);
  }
  const report = {
    ...buildReport('run', outcome.results, startedAt, new Date()),
    warnings: [...new Set(warnings), ...outcome.warnings],
    findings,
    subject: {
      cluster: kube.server,
      namespace,
      workload: targets.map((t) => t.description).join(', '),
      runId: outcome.runId,
      companion: [...new Set(workloads.map((w) => w.companion))].join(', '),
      image,
      pods: outcome.pods,
    },
  };
  writeOutputs(outputs, report);
  return exitCodeFor(report.verdict);
}
