/**
 * `egress-verify run`: the post-deploy smoke test and the CronJob audit.
 */
import type { KeyObject } from 'node:crypto';
import type { ProbePlan } from '../../probes/base/model.js';
import type { Receipt } from '../../probes/base/receipt.js';
import { applyExceptions, type ExceptionRow } from '../../probes/exceptions.js';
import { auditObjects } from '../audit/audit.js';
import type { AuditFinding } from '../audit/finding.js';
import { type Sanction, sanctionsAt } from '../audit/inventory.js';
import { readLiveObjects } from '../audit/live.js';
import { ExitCode, UsageError } from '../base/errors.js';
import { log } from '../base/log.js';
import { toolVersion } from '../base/package-root.js';
import { redactCredentialsIn } from '../base/redact.js';
import { companionGroups } from '../controller/companion-budget.js';
import { CONTROL_PERMISSIONS, checkControlIdentity } from '../controller/control-pod.js';
import { discoverWorkloads } from '../controller/discovery.js';
import { exceptionFindings, exceptionWarnings } from '../controller/exceptions.js';
import {
  checkHostNetworkAllowed,
  checkNamespace,
  checkPermissions,
  checkWorkloads,
  companionService,
  EVIDENCE_PERMISSIONS,
  IN_POD_PERMISSIONS,
  recordPermissions,
} from '../controller/preflight.js';
import { probeKube } from '../controller/probe-kube.js';
import { collectReceipts, RECEIPT_PERMISSIONS } from '../controller/receipts.js';
import { probeIdentity, type RunOutcome, requireCompanion, runProbes } from '../controller/run.js';
import { resolveWorkloads, type WorkloadTarget } from '../controller/target.js';
import { inPodTwin, twinFindings } from '../controller/twin.js';
import { fanOut, twinClasses } from '../controller/twin-class.js';
import { type RunRecord, writeBundle } from '../evidence/bundle.js';
import { signingKey } from '../evidence/keys.js';
import { type ObjectList, policyList, policySnapshots, readPolicyList, type Snapshot, takeSnapshot } from '../evidence/snapshot.js';
import { entryVerdicts, type HistoryEntry, historyName } from '../history/history.js';
import { readHistory, recordOutcome } from '../history/record.js';
import { connectKube, type Kube } from '../kube/client.js';
import { type PolicyRead, readPolicies } from '../kube/policies.js';
import type { KindedPolicy } from '../kube/policy-kinds.js';
import { readSecretValue } from '../kube/secret.js';
import { checkPem } from '../plan/companion-ca.js';
import { planFor } from '../plan/local-plan.js';
import { diffRuns, runVerdicts } from '../report/diff.js';
import { summarizeOnTerminal, writeOutputs } from '../report/output.js';
import { pushAfterRun } from '../report/pushgateway.js';
import {
  buildReport,
  exitCodeFor,
  noBlockProvenWarnings,
  type Report,
  type RunReport,
  runVerdict,
  type TwinReport,
} from '../report/report.js';
import type { RunContext } from './run-context.js';
import type { RunSettings } from './run-settings.js';

/** --companion-ca secret/NAME[:KEY] in the run's namespace (key ca.crt by default); a FILE was read before. */
async function companionCa(kube: Kube, settings: RunSettings, namespace: string): Promise<string | undefined> {
  if (settings.companionCaSecret === undefined) return settings.companionCaPem;
  const { text, source } = await readSecretValue(kube, settings.companionCaSecret, namespace, '--companion-ca', ['ca.crt']);
  return checkPem(text, source);
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
  settings: RunSettings,
  namespace: string,
  targets: WorkloadTarget[],
  today: Date,
  warnings: string[],
  permissionsChecked: boolean,
): Promise<NamespaceRun> {
  const { plan: local, receipts } = settings;
  if (!permissionsChecked) await checkPermissions(kube, namespace);
  if (settings.inPod) await checkPermissions(kube, namespace, IN_POD_PERMISSIONS);
  const caPem = await companionCa(kube, settings, namespace);
  // What the probes will be tested against; compared with the same list after them.
  const policies = await readPolicies(kube, namespace);
  warnings.push(...policies.warnings);
  const toCheck = targets.map((target) => ({
    target,
    companion: requireCompanion(target, settings.companion),
    probeLabels: probeIdentity(target),
  }));
  const checked = await checkWorkloads(kube, toCheck, policies, receipts.required ? checkReceiptPermissions : undefined);
  const workloads = [];
  const exceptions: ExceptionRow[] = [];
  for (const { target: resolved, companion, live, warnings: own } of checked) {
    warnings.push(...own);
    // In a live pod the probe is that pod's twin whatever its siblings look like.
    const twin = settings.inPod ? inPodTwin(resolved.twin) : { ...resolved.twin, differences: [...resolved.twin.differences, ...live] };
    const sanctioned = applyExceptions(planFor(local, companion, caPem), local.catalogue.exceptions ?? [], resolved.description, today);
    exceptions.push(...sanctioned.rows);
    workloads.push({ target: { ...resolved, twin }, companion, plan: sanctioned.plan });
  }
  warnings.push(...exceptionWarnings(exceptions));
  return { namespace, targets, workloads, policies, exceptions };
}

export async function runCommand(settings: RunSettings, ctx: RunContext): Promise<number> {
  const interrupt = new AbortController();
  const stopListening = ctx.onInterrupt(() => interrupt.abort());
  try {
    return await run(settings, ctx, interrupt.signal);
  } finally {
    stopListening();
  }
}

async function run(settings: RunSettings, ctx: RunContext, signal: AbortSignal): Promise<number> {
  const { scope, outputs, startedAt, pushgateway } = settings;
  const kube = connectKube(settings.kube);

  if ('namespace' in scope) {
    await checkNamespace(kube, scope.namespace);
    // Before any read: an RBAC gap is named whole, not as the first read it happens to break.
    await checkPermissions(kube, scope.namespace);
  }
  const targets: WorkloadTarget[] =
    'namespace' in scope && settings.workloads.length > 0
      ? await resolveWorkloads(kube, scope.namespace, settings.workloads)
      : await discoverWorkloads(kube, scope, settings.selector ?? '');
  const namespaces = [...new Set(targets.map((t) => t.namespace))].sort();
  // --record and --evidence are refused above for more than one namespace: for them this is it.
  const namespace = namespaces.join(', ');
  const named = (t: WorkloadTarget): string => (namespaces.length > 1 ? `${t.namespace}/${t.description}` : t.description);
  const onHostNetwork = targets.filter((t) => t.twin.spec.hostNetwork === true);
  if (settings.hostNetworkProbe) for (const ns of new Set(onHostNetwork.map((t) => t.namespace))) await checkHostNetworkAllowed(kube, ns);
  // NetworkPolicy does not apply on the node's network: such a workload fails the run before any probing.
  if (onHostNetwork.length > 0 && !settings.hostNetworkProbe) {
    const findings = targets.flatMap((t) => twinFindings(t, settings.hostNetworkProbe));
    const report: RunReport = {
      ...buildReport('run', [], startedAt, ctx.now()),
      verdict: runVerdict([], findings),
      findings,
      subject: { cluster: kube.server, namespace, workload: targets.map(named).join(', '), twins: twinReports(targets, named) },
    };
    writeOutputs(outputs, report, ctx.stdout);
    summarizeOnTerminal(outputs, report, [], ctx.stderr);
    return pushAfterRun(pushgateway, report, exitCodeFor(report.verdict), ctx.stderr);
  }
  const history = settings.record ? historyName(targets) : undefined;
  const extra = [...(history ? recordPermissions(history) : []), ...(settings.evidence ? EVIDENCE_PERMISSIONS : [])];
  if (extra.length > 0) await checkPermissions(kube, namespace, extra);
  const signer = settings.evidence?.key ?? (await evidenceKey(kube, settings.evidence?.keySecret, namespace));
  const warnings: string[] = [];
  const runs = await Promise.all(
    namespaces.map((ns) =>
      preflightNamespace(
        kube,
        settings,
        ns,
        targets.filter((t) => t.namespace === ns),
        ctx.now(),
        warnings,
        'namespace' in scope && scope.namespace === ns,
      ),
    ),
  );
  const control = settings.controlNamespace;
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
  // A run across namespaces starts probe pods in each (policies are namespaced) at once, except
  // where namespaces share a companion: those take turns, so its budget holds.
  const groups = companionGroups(runs.map((r, index) => ({ ...r, index, companions: r.workloads.map((w) => w.companion) })));
  const outcomes: NamespaceOutcome[] = [];
  await Promise.all(
    groups.map(async (group) => {
      for (const r of group) outcomes[r.index] = await probeNamespace(kube, r, settings, ctx, signal);
    }),
  );
  const outcome = mergeOutcomes(
    outcomes,
    runs.map((r) => r.namespace),
  );

  const workloads = runs.flatMap((r) => r.workloads);
  const sanctions = sanctionsAt(settings.plan.catalogue.exceptions ?? [], settings.startedAt);
  const findings = await runFindings(kube, runs, outcome, settings.hostNetworkProbe, sanctions);
  const exceptions = runs.flatMap((r) =>
    r.exceptions.map((e) => (namespaces.length > 1 ? { ...e, workload: `${r.namespace}/${e.workload}` } : e)),
  );
  const companions = [...new Set(runs.flatMap((r) => r.workloads.map((w) => w.companion)))];
  const snapshot = settings.evidence
    ? await takeSnapshot(kube, { namespace, targets, companions, probePods: outcome.podObjects })
    : undefined;
  for (const r of runs) {
    const after = snapshot?.networkPolicies ?? (await readPolicyList(kube, r.namespace, gaps));
    if (policyVersions(after) !== policyVersions(policyList(r.policies.policies)))
      outcome.warnings.push(`egress policies in ${r.namespace} changed while the probes ran: the verdicts may hold for neither version`);
  }
  // Redacted once here, so the renderings, the bundle and what --record writes to the cluster agree.
  const report: RunReport = redactCredentialsIn({
    ...buildReport('run', outcome.results, startedAt, ctx.now()),
    verdict: runVerdict(outcome.results, findings),
    warnings: [
      ...new Set(warnings),
      ...outcome.warnings,
      ...noBlockProvenWarnings(outcome.results),
      ...[...gaps, ...(snapshot?.gaps ?? [])].map((g) => `not read: ${g}`),
    ],
    findings,
    ...(outcome.receipts.length > 0 && { receipts: outcome.receipts }),
    ...(exceptions.length > 0 && { exceptions }),
    subject: {
      cluster: kube.server,
      namespace,
      workload: targets.map((t) => (namespaces.length > 1 ? `${t.namespace}/${t.description}` : t.description)).join(', '),
      runId: outcome.runId,
      companion: companions.join(', '),
      image: settings.image,
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
    settings.evidence && snapshot
      ? sealEvidence(
          settings.evidence.dir,
          report,
          snapshot,
          {
            tool: {
              name: 'egress-verify',
              version: toolVersion,
              image: settings.image,
              ...(outcome.imageId && { imageId: outcome.imageId }),
            },
            cluster: snapshot.cluster,
            namespace,
            workloads: targets.map((t) => t.description),
            companions,
            runId: outcome.runId,
            startedAt: report.startedAt,
            finishedAt: report.finishedAt,
            ranBy: { ...(ctx.env.EGRESS_VERIFY_POD_NAME && { pod: ctx.env.EGRESS_VERIFY_POD_NAME }), host: ctx.hostname() },
            arguments: [...ctx.argv],
            gaps: snapshot.gaps,
          },
          signer,
          last?.evidence?.chain,
        )
      : undefined;
  writeOutputs(outputs, report, ctx.stdout);
  const code = await pushAfterRun(pushgateway, report, exitCodeFor(report.verdict), ctx.stderr);
  const kept = [
    ...(settings.evidence ? [{ what: 'evidence bundle', where: settings.evidence.dir }] : []),
    ...(history ? [{ what: 'history', where: `configmap/${history} in ${namespace}, and Events on the workload` }] : []),
  ];
  if (past === undefined) {
    summarizeOnTerminal(outputs, report, kept, ctx.stderr);
    return code;
  }
  const problems = await recordOutcome(kube, {
    namespace,
    history: past,
    limit: settings.historyLength,
    targets,
    report,
    ...(report.changes && { changes: report.changes }),
    ...(evidence && { evidence }),
  });
  // The verdict stands; a CronJob that could not record it must still not look green.
  for (const p of problems) ctx.stderr.write(`egress-verify: --record: ${p}\n`);
  summarizeOnTerminal(outputs, report, kept, ctx.stderr);
  return problems.length > 0 && code !== ExitCode.fail ? ExitCode.infrastructure : code;
}

/** One namespace's probe pods (and control pods), then the receipts of what they sent through the companion. */
async function probeNamespace(
  kube: Kube,
  r: NamespaceRun,
  settings: RunSettings,
  ctx: RunContext,
  signal: AbortSignal,
): Promise<NamespaceOutcome> {
  const interactive = ctx.stderr.isTTY === true;
  // Workloads whose probe pod would be the same pod are probed once (src/controller/twin-class.ts);
  // never with --in-pod, where each workload's probe runs inside that workload's own pod.
  const classes = twinClasses(r.workloads, settings.grouping && !settings.inPod);
  const probesStarted = ctx.now();
  const probed = await runProbes(probeKube(kube), {
    workloads: classes.map((c) => c.representative),
    image: settings.image,
    imagePullPolicy: settings.imagePullPolicy,
    perNode: settings.perNode,
    inPod: settings.inPod,
    companionConcurrency: settings.companionConcurrency,
    ...(settings.controlNamespace !== undefined && { controlNamespace: settings.controlNamespace }),
    startTimeoutMs: settings.startTimeoutMs,
    settleMs: settings.settleMs,
    pathWaitMs: settings.pathWaitMs,
    staleAfterMs: settings.staleAfterMs,
    signal,
    now: ctx.now,
    env: ctx.env,
    onProgress: (pod, state) => {
      if (interactive) ctx.stderr.write(`  ${pod}: ${state}\n`);
      else log.info({ pod, state }, 'probe pod');
    },
  });
  const marked = classes.flatMap((c, i) => {
    const plan = probed.plans[i];
    return plan ? [{ workload: c.representative.target.description, companion: c.representative.companion, plan }] : [];
  });
  const inspected = await collectReceipts(kube, marked, probed.results, r.namespace, probesStarted, settings.receipts);
  return { ...probed, ...fanOut(classes, probed.results, probed.pods), ...inspected };
}

/**
 * The twin's findings decide the verdict; the live audit explains it (why a bypass exists) and
 * does not change it, so what it says again about the same object is left out.
 */
async function runFindings(
  kube: Kube,
  runs: readonly NamespaceRun[],
  outcome: Omit<NamespaceOutcome, 'plans'>,
  hostNetworkProbe: boolean,
  sanctions: readonly Sanction[],
): Promise<AuditFinding[]> {
  const twinFound = runs.flatMap((r) => r.workloads).flatMap((w) => twinFindings(w.target, hostNetworkProbe));
  const findingKey = (f: AuditFinding): string => `${f.ruleId} ${f.object.kind}/${f.object.namespace ?? ''}/${f.object.name}`;
  const decided = new Set(twinFound.map(findingKey));
  const findings: AuditFinding[] = [
    ...twinFound,
    ...outcome.findings,
    ...outcome.admissionFindings,
    ...runs.flatMap((r) => exceptionFindings(r.exceptions, r.namespace)),
  ];
  for (const r of runs) {
    try {
      // Kinds it could not read were named by preflight already.
      // The catalogue's exceptions sanction the holes they name, as in `audit --catalogue`; an
      // expired one is reported once, by the run's own exception findings above.
      const audited = auditObjects((await readLiveObjects(kube, r.namespace)).objects, sanctions);
      findings.push(...audited.filter((f) => !decided.has(findingKey(f)) && f.ruleId !== 'exception-expired'));
    } catch (err) {
      outcome.warnings.push(`live audit of ${r.namespace} skipped: ${(err as Error).message}`);
    }
  }
  return findings;
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
    admissionFindings: outcomes.flatMap((o) => o.admissionFindings),
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

/** --evidence-key secret/NAME[:KEY] (key evidence.key by default); a FILE was read with the settings. */
async function evidenceKey(kube: Kube, spec: string | undefined, namespace: string): Promise<KeyObject | undefined> {
  if (spec === undefined) return undefined;
  const { text, source } = await readSecretValue(kube, spec, namespace, '--evidence-key', ['evidence.key']);
  return signingKey(text, source);
}
