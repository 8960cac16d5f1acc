/**
 * `egress-verify run`: the post-deploy smoke test and the CronJob audit.
 */
import type { KeyObject } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ProbePlan } from '../../probes/base/model.js';
import type { Receipt } from '../../probes/base/receipt.js';
import { applyExceptions, type ExceptionRow } from '../../probes/exceptions.js';
import { auditObjects } from '../audit/audit.js';
import type { AuditFinding } from '../audit/finding.js';
import { readLiveObjects } from '../audit/live.js';
import { ExitCode, UsageError } from '../base/errors.js';
import { readInput } from '../base/input.js';
import { log } from '../base/log.js';
import { toolVersion } from '../base/package-root.js';
import { redactCredentialsIn } from '../base/redact.js';
import { CONTROL_PERMISSIONS, checkControlIdentity } from '../controller/control-pod.js';
import { type DiscoveryScope, discoverWorkloads, parseSelectorFlag } from '../controller/discovery.js';
import { exceptionFindings, exceptionWarnings } from '../controller/exceptions.js';
import {
  checkCompanion,
  checkHostNetworkAllowed,
  checkIdentity,
  checkNamespace,
  checkPermissions,
  companionService,
  EVIDENCE_PERMISSIONS,
  IN_POD_PERMISSIONS,
  recordPermissions,
} from '../controller/preflight.js';
import { probeKube } from '../controller/probe-kube.js';
import { collectReceipts, DEFAULT_LOG_FORMAT, parseLogFormat, RECEIPT_PERMISSIONS, type ReceiptSettings } from '../controller/receipts.js';
import { probeIdentity, type RunOutcome, requireCompanion, runProbes } from '../controller/run.js';
import { parseWorkload, resolveWorkload, type WorkloadTarget } from '../controller/target.js';
import { inPodTwin, twinFindings } from '../controller/twin.js';
import { fanOut, twinClasses } from '../controller/twin-class.js';
import { checkBundleDir, type RunRecord, writeBundle } from '../evidence/bundle.js';
import { signingKey } from '../evidence/keys.js';
import { type ObjectList, policyList, policySnapshots, readPolicyList, type Snapshot, takeSnapshot } from '../evidence/snapshot.js';
import { entryVerdicts, type HistoryEntry, historyName } from '../history/history.js';
import { readHistory, recordOutcome } from '../history/record.js';
import { connectKube, type Kube } from '../kube/client.js';
import { type PolicyRead, readPolicies } from '../kube/policies.js';
import type { KindedPolicy } from '../kube/policy-kinds.js';
import { isSecretSpec, readSecretValue } from '../kube/secret.js';
import { checkPem, readCompanionCa } from '../plan/companion-ca.js';
import { checkCompanionUrl, type LocalPlan, loadCatalogue, planFor } from '../plan/local-plan.js';
import { diffRuns, runVerdicts } from '../report/diff.js';
import { parseOutputs, summarizeOnTerminal, writeOutputs } from '../report/output.js';
import { parsePushgateway, pushAfterRun } from '../report/pushgateway.js';
import { buildReport, exitCodeFor, type Report, runVerdict, type TwinReport } from '../report/report.js';

export interface RunOptions {
  namespace?: string;
  namespaceSelector?: string;
  allNamespaces: boolean;
  selector?: string;
  workload: string[];
  companion?: string;
  companionCa?: string;
  catalogue?: string;
  extend: string[];
  ports?: string;
  image?: string;
  imagePullPolicy: string;
  perNode: boolean;
  /** false with --no-grouping: one probe pod per workload even when their twins are identical. */
  grouping: boolean;
  hostNetworkProbe: boolean;
  inPod: boolean;
  controlNamespace?: string;
  startTimeout: string;
  staleAfter: string;
  settle: string;
  kubeconfig?: string;
  context?: string;
  output: string[];
  tapVersion?: string;
  reportDir: string;
  evidence?: string;
  evidenceKey?: string;
  record: boolean;
  history: string;
  pushgateway?: string;
  /** --receipts: a proxied request missing from the companion's log fails the run. */
  receipts: boolean;
  receiptFormat?: string;
}

export const DEFAULT_IMAGE = `ghcr.io/egress-verify/egress-verify:${toolVersion}`;

function seconds(value: string, flag: string): number {
  const n = Number(value.replace(/s$/, ''));
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new UsageError(`${flag} "${value}" must be a number of seconds (1-3600)`);
  return n * 1000;
}

/** --companion-ca secret/NAME[:KEY] in the run's namespace (key ca.crt by default); a FILE was read before. */
async function companionCa(
  kube: Kube,
  spec: string | undefined,
  namespace: string,
  local: string | undefined,
): Promise<string | undefined> {
  if (spec === undefined || !isSecretSpec(spec)) return local;
  const { text, source } = await readSecretValue(kube, spec, namespace, '--companion-ca', ['ca.crt']);
  return checkPem(text, source);
}

/** Where the workloads are: `-n`, `--namespace-selector` or `-A`, each exclusive of the others. */
function scopeOf(opts: RunOptions): DiscoveryScope {
  const given = [opts.namespace !== undefined, opts.namespaceSelector !== undefined, opts.allNamespaces].filter(Boolean).length;
  if (given > 1) throw new UsageError('give one of -n/--namespace, --namespace-selector and -A/--all-namespaces');
  if (given === 0) throw new UsageError('-n/--namespace is required (or --namespace-selector, or -A/--all-namespaces with -l)');
  if (opts.namespace !== undefined) return { namespace: opts.namespace };
  if (opts.workload.length > 0) throw new UsageError('--workload names an object of one namespace: use -n, or -l across namespaces');
  return opts.namespaceSelector !== undefined ? { namespaceSelector: opts.namespaceSelector } : { allNamespaces: true };
}

/** One namespace's share of a run: its workloads with their plans, and the policies they were tested against. */
interface NamespaceRun {
  namespace: string;
  targets: WorkloadTarget[];
  workloads: { target: WorkloadTarget; companion: string; plan: ProbePlan }[];
  policies: PolicyRead;
  /** The catalogue's exceptions for these workloads, as applied to their plans. */
  exceptions: ExceptionRow[];
}

async function preflightNamespace(
  kube: Kube,
  opts: RunOptions,
  namespace: string,
  targets: WorkloadTarget[],
  local: { plan: LocalPlan; ca: string | undefined },
  receipts: ReceiptSettings,
  warnings: string[],
): Promise<NamespaceRun> {
  await checkPermissions(kube, namespace);
  if (opts.inPod) await checkPermissions(kube, namespace, IN_POD_PERMISSIONS);
  const caPem = await companionCa(kube, opts.companionCa, namespace, local.ca);
  // What the probes will be tested against; compared with the same list after them.
  const policies = await readPolicies(kube, namespace);
  warnings.push(...policies.warnings);
  const workloads = [];
  const exceptions: ExceptionRow[] = [];
  for (const resolved of targets) {
    const companion = requireCompanion(resolved, opts.companion);
    await checkCompanion(kube, companion, namespace, warnings);
    if (receipts.required) await checkReceiptPermissions(kube, companion, namespace);
    const live = await checkIdentity(kube, resolved, probeIdentity(resolved), policies, warnings);
    // In a live pod the probe is that pod's twin whatever its siblings look like.
    const twin = opts.inPod ? inPodTwin(resolved.twin) : { ...resolved.twin, differences: [...resolved.twin.differences, ...live] };
    const sanctioned = applyExceptions(
      planFor(local.plan, companion, caPem),
      local.plan.catalogue.exceptions ?? [],
      resolved.description,
      new Date(),
    );
    exceptions.push(...sanctioned.rows);
    workloads.push({ target: { ...resolved, twin }, companion, plan: sanctioned.plan });
  }
  warnings.push(...exceptionWarnings(exceptions));
  return { namespace, targets, workloads, policies, exceptions };
}

export async function runCommand(opts: RunOptions, signal: AbortSignal): Promise<number> {
  const scope = scopeOf(opts);
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
  if (opts.evidence !== undefined && !('namespace' in scope)) throw new UsageError('--evidence covers one namespace: use -n');
  if (opts.evidence !== undefined) checkBundleDir(opts.evidence);
  const startedAt = new Date();
  const outputs = parseOutputs(
    opts.output.length > 0
      ? opts.output
      : ['tap', `json=${join(opts.reportDir, `egress-verify-run-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`)}`],
    opts.tapVersion,
  );
  // Every local input before the cluster: a typo must not read as "API server unreachable".
  const refs = opts.workload.map(parseWorkload);
  if (opts.selector !== undefined) parseSelectorFlag(opts.selector, '-l/--selector');
  if (opts.namespaceSelector !== undefined) parseSelectorFlag(opts.namespaceSelector, '--namespace-selector');
  const localPlan = loadCatalogue(opts);
  const receipts = receiptSettings(opts, localPlan);
  if (opts.companion !== undefined) checkCompanionUrl(opts.companion);
  const localCa = opts.companionCa === undefined || isSecretSpec(opts.companionCa) ? undefined : readCompanionCa(opts.companionCa);
  const localKey =
    opts.evidenceKey === undefined || isSecretSpec(opts.evidenceKey)
      ? undefined
      : signingKey(readInput(opts.evidenceKey, 'evidence key'), opts.evidenceKey);
  const pushgateway = opts.pushgateway === undefined ? undefined : parsePushgateway(opts.pushgateway);
  const kube = connectKube(opts);

  if ('namespace' in scope) {
    await checkNamespace(kube, scope.namespace);
    // Before any read: an RBAC gap is named whole, not as the first read it happens to break.
    await checkPermissions(kube, scope.namespace);
  }
  const targets: WorkloadTarget[] =
    'namespace' in scope && opts.workload.length > 0
      ? await Promise.all(refs.map((ref) => resolveWorkload(kube, scope.namespace, ref)))
      : await discoverWorkloads(kube, scope, opts.selector ?? '');
  const namespaces = [...new Set(targets.map((t) => t.namespace))].sort();
  // --record and --evidence are refused above for more than one namespace: for them this is it.
  const namespace = namespaces.join(', ');
  const named = (t: WorkloadTarget): string => (namespaces.length > 1 ? `${t.namespace}/${t.description}` : t.description);
  const onHostNetwork = targets.filter((t) => t.twin.spec.hostNetwork === true);
  if (opts.hostNetworkProbe) for (const ns of new Set(onHostNetwork.map((t) => t.namespace))) await checkHostNetworkAllowed(kube, ns);
  // NetworkPolicy does not apply on the node's network: such a workload fails the run before any probing.
  if (onHostNetwork.length > 0 && !opts.hostNetworkProbe) {
    const findings = targets.flatMap((t) => twinFindings(t, opts.hostNetworkProbe));
    const report: Report = {
      ...buildReport('run', [], startedAt, new Date()),
      verdict: runVerdict([], findings),
      findings,
      subject: { cluster: kube.server, namespace, workload: targets.map(named).join(', '), twins: twinReports(targets, named) },
    };
    writeOutputs(outputs, report);
    summarizeOnTerminal(outputs, report);
    return pushAfterRun(pushgateway, report, exitCodeFor(report.verdict));
  }
  const history = opts.record ? historyName(targets) : undefined;
  const extra = [...(history ? recordPermissions(history) : []), ...(opts.evidence ? EVIDENCE_PERMISSIONS : [])];
  if (extra.length > 0) await checkPermissions(kube, namespace, extra);
  const signer = localKey ?? (await evidenceKey(kube, opts.evidenceKey, namespace));
  const warnings: string[] = [];
  const runs = await Promise.all(
    namespaces.map((ns) =>
      preflightNamespace(
        kube,
        opts,
        ns,
        targets.filter((t) => t.namespace === ns),
        { plan: localPlan, ca: localCa },
        receipts,
        warnings,
      ),
    ),
  );
  const control = opts.controlNamespace;
  if (control !== undefined) {
    await checkNamespace(kube, control);
    await checkPermissions(kube, control, CONTROL_PERMISSIONS);
    const read = await readPolicies(kube, control);
    warnings.push(...read.warnings);
    checkControlIdentity(read, control, warnings);
  }
  // Warnings belong to the report (JSON `warnings`, TAP comments); stderr stays for errors.
  for (const w of new Set(warnings)) log.info({ warning: w }, 'preflight');

  const gaps: string[] = [];
  const interactive = process.stderr.isTTY === true;
  const image = opts.image ?? process.env.EGRESS_VERIFY_IMAGE ?? DEFAULT_IMAGE;
  // A run across namespaces starts probe pods in each (policies are namespaced), all at once.
  const outcomes = await Promise.all(
    runs.map(async (r): Promise<NamespaceOutcome> => {
      // Workloads whose probe pod would be the same pod are probed once (src/controller/twin-class.ts);
      // never with --in-pod, where each workload's probe runs inside that workload's own pod.
      const classes = twinClasses(r.workloads, opts.grouping && !opts.inPod);
      const probesStarted = new Date();
      const probed = await runProbes(probeKube(kube), {
        workloads: classes.map((c) => c.representative),
        image,
        imagePullPolicy: opts.imagePullPolicy as 'Always' | 'IfNotPresent' | 'Never',
        perNode: opts.perNode,
        inPod: opts.inPod,
        ...(control !== undefined && { controlNamespace: control }),
        startTimeoutMs,
        settleMs,
        staleAfterMs,
        signal,
        now: () => new Date(),
        env: process.env,
        onProgress: (pod, state) => {
          if (interactive) process.stderr.write(`  ${pod}: ${state}\n`);
          else log.info({ pod, state }, 'probe pod');
        },
      });
      const marked = classes.flatMap((c, i) => {
        const plan = probed.plans[i];
        return plan ? [{ workload: c.representative.target.description, companion: c.representative.companion, plan }] : [];
      });
      const inspected = await collectReceipts(kube, marked, probed.results, r.namespace, probesStarted, receipts);
      return { ...probed, ...fanOut(classes, probed.results, probed.pods), ...inspected };
    }),
  );
  const outcome = mergeOutcomes(
    outcomes,
    runs.map((r) => r.namespace),
  );

  // The twin's findings decide the verdict; the live audit explains it (why a bypass exists) and
  // does not change it, so what it says again about the same object is left out.
  const workloads = runs.flatMap((r) => r.workloads);
  const twinFound = workloads.flatMap((w) => twinFindings(w.target, opts.hostNetworkProbe));
  const findingKey = (f: AuditFinding): string => `${f.ruleId} ${f.object.kind}/${f.object.namespace ?? ''}/${f.object.name}`;
  const decided = new Set(twinFound.map(findingKey));
  const findings: AuditFinding[] = [
    ...twinFound,
    ...outcome.findings,
    ...runs.flatMap((r) => exceptionFindings(r.exceptions, r.namespace)),
  ];
  const exceptions = runs.flatMap((r) =>
    r.exceptions.map((e) => (namespaces.length > 1 ? { ...e, workload: `${r.namespace}/${e.workload}` } : e)),
  );
  for (const r of runs) {
    try {
      // Kinds it could not read were named by preflight already.
      const audited = auditObjects((await readLiveObjects(kube, r.namespace)).objects);
      findings.push(...audited.filter((f) => !decided.has(findingKey(f))));
    } catch (err) {
      outcome.warnings.push(`live audit of ${r.namespace} skipped: ${(err as Error).message}`);
    }
  }
  const companions = [...new Set(runs.flatMap((r) => r.workloads.map((w) => w.companion)))];
  const snapshot = opts.evidence ? await takeSnapshot(kube, { namespace, targets, companions, probePods: outcome.podObjects }) : undefined;
  for (const r of runs) {
    const after = snapshot?.networkPolicies ?? (await readPolicyList(kube, r.namespace, gaps));
    if (policyVersions(after) !== policyVersions(policyList(r.policies.policies)))
      outcome.warnings.push(`egress policies in ${r.namespace} changed while the probes ran: the verdicts may hold for neither version`);
  }
  // Redacted once here, so the renderings, the bundle and what --record writes to the cluster agree.
  const report: Report = redactCredentialsIn({
    ...buildReport('run', outcome.results, startedAt, new Date()),
    verdict: runVerdict(outcome.results, findings),
    warnings: [...new Set(warnings), ...outcome.warnings, ...[...gaps, ...(snapshot?.gaps ?? [])].map((g) => `not read: ${g}`)],
    findings,
    ...(outcome.receipts.length > 0 && { receipts: outcome.receipts }),
    ...(exceptions.length > 0 && { exceptions }),
    subject: {
      cluster: kube.server,
      namespace,
      workload: targets.map((t) => (namespaces.length > 1 ? `${t.namespace}/${t.description}` : t.description)).join(', '),
      runId: outcome.runId,
      companion: companions.join(', '),
      image,
      ...(outcome.imageId && { imageId: outcome.imageId }),
      pods: outcome.pods,
      networkPolicies: policySnapshots(policyList(uniquePolicies(runs.flatMap((r) => r.policies.policies)))),
      twins: twinReports(
        workloads.map((w) => w.target),
        named,
      ),
    },
  });
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
  const code = await pushAfterRun(pushgateway, report, exitCodeFor(report.verdict));
  const kept = [
    ...(opts.evidence ? [{ what: 'evidence bundle', where: opts.evidence }] : []),
    ...(history ? [{ what: 'history', where: `configmap/${history} in ${namespace}, and Events on the workload` }] : []),
  ];
  if (past === undefined) {
    summarizeOnTerminal(outputs, report, kept);
    return code;
  }
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
  summarizeOnTerminal(outputs, report, kept);
  return problems.length > 0 && code !== ExitCode.fail ? ExitCode.infrastructure : code;
}

/** --receipts and --receipt-format over the catalogue's `receipts`; checked before the cluster is contacted. */
function receiptSettings(opts: RunOptions, local: LocalPlan): ReceiptSettings {
  const fromCatalogue = local.catalogue.receipts;
  return {
    required: opts.receipts || fromCatalogue?.require === true,
    format: parseLogFormat(opts.receiptFormat ?? fromCatalogue?.format ?? DEFAULT_LOG_FORMAT),
  };
}

/** Receipts asked for: the companion's pods and logs must be readable, which needs a Service name. */
async function checkReceiptPermissions(kube: Kube, companion: string, namespace: string): Promise<void> {
  const svc = companionService(companion, namespace);
  if (svc === undefined)
    throw new UsageError(`--receipts: companion ${companion} is not a cluster Service name, so its pods' logs cannot be found`);
  await checkPermissions(kube, svc.namespace, RECEIPT_PERMISSIONS);
}

const twinReports = (targets: readonly WorkloadTarget[], named: (t: WorkloadTarget) => string): TwinReport[] =>
  targets.map((t) => ({ workload: named(t), copied: t.twin.copied, differences: t.twin.differences }));

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

/** One namespace's probes, with the inspection receipts of the requests they sent through the companion. */
type NamespaceOutcome = RunOutcome & { receipts: Receipt[]; findings: AuditFinding[] };

/**
 * One report from the namespaces' runs. Across namespaces a result's workload is named with its
 * namespace, so the report's sections (and `report diff`) tell `a/deployment/x` from `b/deployment/x`.
 */
function mergeOutcomes(outcomes: readonly NamespaceOutcome[], namespaces: readonly string[]): Omit<NamespaceOutcome, 'plans'> {
  const qualify = <T extends { workload?: string }>(rows: readonly T[], i: number): T[] =>
    namespaces.length > 1 ? rows.map((r) => ({ ...r, ...(r.workload && { workload: `${namespaces[i]}/${r.workload}` }) })) : [...rows];
  const imageId = outcomes.find((o) => o.imageId)?.imageId;
  return {
    runId: outcomes.map((o) => o.runId).join(', '),
    results: outcomes.flatMap((o, i) => qualify(o.results, i)),
    pods: outcomes.flatMap((o) => o.pods),
    podObjects: outcomes.flatMap((o) => o.podObjects),
    ...(imageId && { imageId }),
    warnings: outcomes.flatMap((o) => o.warnings),
    receipts: outcomes.flatMap((o, i) => qualify(o.receipts, i)),
    findings: outcomes.flatMap((o) => o.findings),
  };
}

/** Cluster-scoped policies are read once per namespace of the run: each is listed once. */
const uniquePolicies = (all: readonly KindedPolicy[]): KindedPolicy[] => [
  ...new Map(all.map((p) => [`${p.kind.id}/${p.object.metadata?.namespace ?? ''}/${p.object.metadata?.name}`, p])).values(),
];

const policyVersions = (l: ObjectList): string =>
  l.items
    .map((p) => `${p.apiVersion}/${p.kind}/${p.metadata?.name}@${p.metadata?.resourceVersion}`)
    .sort()
    .join(',');

/** --evidence-key secret/NAME[:KEY] (key evidence.key by default); a FILE was read before. */
async function evidenceKey(kube: Kube, spec: string | undefined, namespace: string): Promise<KeyObject | undefined> {
  if (spec === undefined || !isSecretSpec(spec)) return undefined;
  const { text, source } = await readSecretValue(kube, spec, namespace, '--evidence-key', ['evidence.key']);
  return signingKey(text, source);
}
