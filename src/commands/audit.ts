/**
 * `egress-verify audit`: manifests from files, directories or stdin, or a live namespace read
 * through the API; every rule runs, and it exits 1 when a finding is at or above --fail-on, 3 when
 * there was nothing to audit.
 */
import { auditObjects, distinctObjects } from '../audit/audit.js';
import { RULE_IDS } from '../audit/catalogue.js';
import { AUDIT_FAIL_ON, type Severity } from '../audit/finding.js';
import { auditedCount, sanctionsAt } from '../audit/inventory.js';
import { readLiveObjects } from '../audit/live.js';
import { type ManifestObject, readManifests } from '../audit/manifests.js';
import { UsageError } from '../base/errors.js';
import { log } from '../base/log.js';
import { checkNamespace } from '../controller/preflight.js';
import { connectKube } from '../kube/client.js';
import { loadCatalogue } from '../plan/local-plan.js';
import { parseOutputs, writeOutputs } from '../report/output.js';
import { parsePushgateway, pushAfterRun } from '../report/pushgateway.js';
import { buildAuditReport, exitCodeFor } from '../report/report.js';

export interface AuditOptions {
  file: string[];
  catalogue?: string;
  extend: string[];
  namespace?: string;
  kubeconfig?: string;
  context?: string;
  failOn: string;
  output: string[];
  tapVersion?: string;
  pushgateway?: string;
}

export async function auditCommand(opts: AuditOptions): Promise<number> {
  const live = opts.namespace !== undefined;
  if (live === opts.file.length > 0) throw new UsageError('give manifests (-f FILE, -f DIR, -f -) or a live namespace (-n), not both');
  if (opts.file.filter((f) => f === '-').length > 1) throw new UsageError('stdin (-f -) can be read only once');
  const failOn = opts.failOn as Severity;
  if (!(AUDIT_FAIL_ON as readonly string[]).includes(failOn))
    throw new UsageError(`--fail-on must be one of ${AUDIT_FAIL_ON.join(', ')} (info and low findings never fail)`);
  const outputs = parseOutputs(opts.output.length > 0 ? opts.output : ['tap'], opts.tapVersion);
  const pushgateway = opts.pushgateway === undefined ? undefined : parsePushgateway(opts.pushgateway);
  const startedAt = new Date();
  // The exceptions the run honours; without --catalogue or --extend the default catalogue has none.
  const sanctions =
    opts.catalogue === undefined && opts.extend.length === 0
      ? []
      : sanctionsAt(loadCatalogue({ ...opts, extend: opts.extend }).catalogue.exceptions ?? [], startedAt);
  let objects: ManifestObject[];
  const warnings: string[] = [];
  if (opts.namespace !== undefined) {
    const kube = connectKube(opts);
    await checkNamespace(kube, opts.namespace);
    const read = await readLiveObjects(kube, opts.namespace);
    for (const warning of read.warnings) log.warn({ warning }, 'policy kind not read');
    objects = read.objects;
    warnings.push(...read.warnings);
  } else {
    const manifests = readManifests(opts.file);
    for (const warning of manifests.warnings) log.warn({ warning }, 'manifest skipped');
    for (const note of manifests.notes) log.info({ note }, 'not a Kubernetes object');
    objects = manifests.objects;
    warnings.push(...manifests.warnings);
  }
  const objectsRead = auditedCount(distinctObjects(objects).map((d) => d.object));
  if (objectsRead === 0) {
    const from = live ? `namespace ${opts.namespace}` : opts.file.map((f) => (f === '-' ? 'stdin' : f)).join(', ');
    warnings.push(`nothing to audit: no workload, Service or NetworkPolicy in ${from} (${objects.length} other object(s) read)`);
  }
  const findings = auditObjects(objects, sanctions);
  const report = buildAuditReport(RULE_IDS, findings, failOn, warnings, startedAt, new Date(), objectsRead);
  writeOutputs(outputs, report);
  return pushAfterRun(pushgateway, report, exitCodeFor(report.verdict));
}
