/**
 * `egress-verify run`: the post-deploy smoke test and the CronJob audit.
 */
import type { KeyObject } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { auditObjects } from '../audit/audit.js';
import { readLiveObjects } from '../audit/live.js';
import {
  checkCompanion,
  checkHostNetworkAllowed,
  checkIdentity,
  checkNamespace,
  checkPermissions,
  EVIDENCE_PERMISSIONS,
  IN_POD_PERMISSIONS,
  listNetworkPolicies,
  recordPermissions,
} from '../controller/preflight.js';
import { probeIdentity, requireCompanion, runProbes } from '../controller/run.js';
import { resolveSelector, resolveWorkload, type WorkloadTarget } from '../controller/target.js';
import { inPodTwin, twinFindings } from '../controller/twin.js';
import { ExitCode, exitCodeFor, UsageError } from '../errors.js';
import { checkBundleDir, type RunRecord, writeBundle } from '../evidence/bundle.js';
import { signingKey } from '../evidence/keys.js';
import {
  networkPolicyList,
  type ObjectList,
  policySnapshots,
  readNetworkPolicies,
  type Snapshot,
  takeSnapshot,
} from '../evidence/snapshot.js';
import { entryVerdicts, type HistoryEntry, historyName } from '../history/history.js';
import { readHistory, recordOutcome } from '../history/record.js';
import { connectKube, type Kube } from '../kube/client.js';
import { isSecretSpec, readSecretValue } from '../kube/secret.js';
import { log } from '../log.js';
import { parseOutputs, writeOutputs } from '../output.js';
import { toolVersion } from '../package-root.js';
import { diffRuns, runVerdicts } from '../report/diff.js';
import { type AuditFinding, buildReport, type Report, runVerdict, type TwinReport } from '../report/report.js';
import { checkPem, planFromCatalogue, readCompanionCa, readInput } from './probe.js';

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
  hostNetworkProbe: boolean;
  inPod: boolean;
  startTimeout: string;
  staleAfter: string;
  settle: string;
  kubeconfig?: string;
  context?: string;
  output: string[];
  reportDir: string;
  evidence?: string;
  evidenceKey?: string;
  record: boolean;
  history: string;
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
  if (!isSecretSpec(spec)) return readCompanionCa(spec);
  const { text, source } = await readSecretValue(kube, spec, namespace, '--companion-ca', ['ca.crt']);
  return checkPem(text, source);
}

export async function runCommand(opts: RunOptions, signal: AbortSignal): Promise<number> {
  if (opts.namespace === undefined) throw new UsageError('-n/--namespace is required');
  if ((opts.selector === undefined) === (opts.workload.length === 0)) throw new UsageError('give --selector, or one or more --workload');
  if (!['Always', 'IfNotPresent', 'Never'].includes(opts.imagePullPolicy))
    throw new UsageError('--image-pull-policy must be Always, IfNotPresent or Never');
  const startTimeoutMs = seconds(opts.startTimeout, '--start-timeout');
  const staleAfterMs = seconds(opts.staleAfter, '--stale-after');
  const settleMs = opts.settle === '0' ? 0 : seconds(opts.settle, '--settle');
  const historyLength = Number(opts.history);
  if (!Number.isInteger(historyLength) || historyLength < 1 || historyLength > 100)
    throw new UsageError(`--history "${opts.history}" must be a whole number of runs (1-100)`);
  if (opts.evidenceKey !== undefined && opts.evidence === undefined) throw new UsageError('--evidence-key needs --evidence DIR');
  if (opts.record && opts.selector !== undefined)
    throw new UsageError('--record needs --workload: its Events and history belong to a workload object');
  if (opts.evidence !== undefined) checkBundleDir(opts.evidence);
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
  if (opts.hostNetworkProbe && targets.some((t) => t.twin.spec.hostNetwork === true)) await checkHostNetworkAllowed(kube, namespace);
  // NetworkPolicy does not apply on the node's network: such a workload fails before any probing.
  if (targets.some((t) => t.twin.spec.hostNetwork === true && !opts.hostNetworkProbe)) {
    const findings = targets.flatMap((t) => twinFindings(t, opts.hostNetworkProbe));
    const report: Report = {
      ...buildReport('run', [], startedAt, new Date()),
      verdict: runVerdict([], findings),
      findings,
      subject: { cluster: kube.server, namespace, workload: targets.map((t) => t.description).join(', '), twins: twinReports(targets) },
    };
    writeOutputs(outputs, report);
    return exitCodeFor(report.verdict);
  }
  const history = opts.record ? historyName(targets) : undefined;
  const extra = [
    ...(history ? recordPermissions(history) : []),
    ...(opts.evidence ? EVIDENCE_PERMISSIONS : []),
    ...(opts.inPod ? IN_POD_PERMISSIONS : []),
  ];
  if (extra.length > 0) await checkPermissions(kube, namespace, extra);
  const signer = await evidenceKey(kube, opts.evidenceKey, namespace);
  const warnings: string[] = [];
  const caPem = await companionCa(kube, opts.companionCa, namespace);
  // What the probes will be tested against; compared with the same list after them.
  const policies = await listNetworkPolicies(kube, namespace);
  const workloads = [];
  for (const resolved of targets) {
    const companion = requireCompanion(resolved, opts.companion);
    await checkCompanion(kube, companion, namespace, warnings);
    const live = await checkIdentity(kube, resolved, probeIdentity(resolved), policies, warnings);
    // In a live pod the probe is that pod's twin whatever its siblings look like.
    const twin = opts.inPod ? inPodTwin(resolved.twin) : { ...resolved.twin, differences: [...resolved.twin.differences, ...live] };
    const target = { ...resolved, twin };
    workloads.push({ target, companion, plan: planFromCatalogue(opts, companion, caPem) });
  }
  const twinFound = workloads.flatMap((w) => twinFindings(w.target, opts.hostNetworkProbe));
  // Warnings belong to the report (JSON `warnings`, TAP comments); stderr stays for errors.
  for (const w of new Set(warnings)) log.info({ warning: w }, 'preflight');

  const gaps: string[] = [];
  const policiesBefore = networkPolicyList(policies);
  const interactive = process.stderr.isTTY === true;
  const image = opts.image ?? process.env.EGRESS_VERIFY_IMAGE ?? DEFAULT_IMAGE;
  const outcome = await runProbes(kube, {
    workloads,
    image,
    imagePullPolicy: opts.imagePullPolicy as 'Always' | 'IfNotPresent' | 'Never',
    perNode: opts.perNode,
    inPod: opts.inPod,
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
  // The twin's findings decide the verdict; the live audit's say the same thing only to explain it.
  const decided = new Set(twinFound.map((f) => `${f.ruleId} ${f.object.kind}/${f.object.name}`));
  let findings: AuditFinding[] = twinFound;
  try {
    const audited = auditObjects(await readLiveObjects(kube, namespace));
    findings = [...twinFound, ...audited.filter((f) => !decided.has(`${f.ruleId} ${f.object.kind}/${f.object.name}`))];
  } catch (err) {
    outcome.warnings.push(`live audit skipped: ${(err as Error).message}`);
  }
  const companions = [...new Set(workloads.map((w) => w.companion))];
  const snapshot = opts.evidence ? await takeSnapshot(kube, { namespace, targets, companions, probePods: outcome.podObjects }) : undefined;
  const policiesAfter = snapshot?.networkPolicies ?? (await readNetworkPolicies(kube, namespace, gaps));
  if (policyVersions(policiesAfter) !== policyVersions(policiesBefore))
    outcome.warnings.push('NetworkPolicies changed while the probes ran: the verdicts may hold for neither version');
  const report: Report = {
    ...buildReport('run', outcome.results, startedAt, new Date()),
    verdict: runVerdict(outcome.results, findings),
    warnings: [...new Set(warnings), ...outcome.warnings, ...[...gaps, ...(snapshot?.gaps ?? [])].map((g) => `not read: ${g}`)],
    findings,
    subject: {
      cluster: kube.server,
      namespace,
      workload: targets.map((t) => t.description).join(', '),
      runId: outcome.runId,
      companion: companions.join(', '),
      image,
      ...(outcome.imageId && { imageId: outcome.imageId }),
      pods: outcome.pods,
      networkPolicies: policySnapshots(policiesBefore),
      twins: twinReports(workloads.map((w) => w.target)),
    },
  };
  const past = history ? await readHistory(kube, namespace, history) : undefined;
  const last = past?.entries.at(-1);
  if (last) report.changes = diffRuns(entryVerdicts(last), runVerdicts(report));

  const evidence =
    opts.evidence && snapshot
      ? sealEvidence(
          opts.evidence,
          report,
          snapshot,
          {
            tool: { name: 'egress-verify', version: toolVersion, image, ...(outcome.imageId && { imageId: outcome.imageId }) },
            cluster: snapshot.cluster,
            namespace,
            workloads: targets.map((t) => t.description),
            companions,
            runId: outcome.runId,
            startedAt: report.startedAt,
            finishedAt: report.finishedAt,
            ranBy: { ...(process.env.EGRESS_VERIFY_POD_NAME && { pod: process.env.EGRESS_VERIFY_POD_NAME }), host: hostname() },
            arguments: process.argv.slice(2),
            gaps: snapshot.gaps,
          },
          signer,
          last?.evidence?.chain,
        )
      : undefined;
  writeOutputs(outputs, report);
  const code = exitCodeFor(report.verdict);
  if (past === undefined) return code;
  const problems = await recordOutcome(kube, {
    namespace,
    history: past,
    limit: historyLength,
    targets,
    report,
    ...(report.changes && { changes: report.changes }),
    ...(evidence && { evidence }),
  });
  // The verdict stands; a CronJob that could not record it must still not look green.
  for (const p of problems) process.stderr.write(`egress-verify: --record: ${p}\n`);
  return problems.length > 0 && code !== ExitCode.fail ? ExitCode.infrastructure : code;
}

const twinReports = (targets: readonly WorkloadTarget[]): TwinReport[] =>
  targets.map((t) => ({ workload: t.description, copied: t.twin.copied, differences: t.twin.differences }));

/** Writes the bundle; what the history and the Event record of it: its chain and signer. */
function sealEvidence(
  dir: string,
  report: Report,
  snapshot: Snapshot,
  run: RunRecord,
  signer: KeyObject | undefined,
  previous: string | undefined,
): HistoryEntry['evidence'] {
  const manifest = writeBundle(dir, { report, snapshot, run, ...(signer && { signer }), ...(previous && { previous }) });
  log.info({ dir, chain: manifest.chain, signed: manifest.signedBy !== undefined }, 'evidence bundle written');
  return { chain: manifest.chain, ...(manifest.signedBy && { signedBy: manifest.signedBy.fingerprint }) };
}

const policyVersions = (l: ObjectList): string =>
  l.items
    .map((p) => `${p.metadata?.name}@${p.metadata?.resourceVersion}`)
    .sort()
    .join(',');

/** --evidence-key FILE, or secret/NAME[:KEY] (key evidence.key by default). */
async function evidenceKey(kube: Kube, spec: string | undefined, namespace: string): Promise<KeyObject | undefined> {
  if (spec === undefined) return undefined;
  if (isSecretSpec(spec)) {
    const { text, source } = await readSecretValue(kube, spec, namespace, '--evidence-key', ['evidence.key']);
    return signingKey(text, source);
  }
  return signingKey(readInput(spec, 'evidence key'), spec);
}
