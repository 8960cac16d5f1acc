/**
 * `run --record`: the history ConfigMap, Events on each workload, and a PolicyReport when the
 * wgpolicyk8s.io CRD is served. Each failure is reported, none stops the others.
 */
import { hostname } from 'node:os';
import { ApisApi, CustomObjectsApi, EventsV1Api, type EventsV1Event, type V1ConfigMap } from '@kubernetes/client-node';
import type { WorkloadTarget } from '../controller/target.js';
import { apiStatus, isNotFound, type Kube, kubeCall, kubeError } from '../kube/client.js';
import { renderMarkdown } from '../report/markdown.js';
import type { ReportDiff, RunReport } from '../report/report.js';
import { appendHistory, HISTORY_LABEL, type HistoryEntry, historyEntry, parseHistory, policyReport, workloadEvent } from './history.js';

const POLICY_GROUP = 'wgpolicyk8s.io';
const POLICY_VERSION = 'v1alpha2';

export interface History {
  name: string;
  entries: HistoryEntry[];
  /** Absent when the ConfigMap does not exist yet. */
  resourceVersion?: string;
}

export async function readHistory(kube: Kube, namespace: string, name: string): Promise<History> {
  try {
    const cm = await kube.core.readNamespacedConfigMap({ name, namespace });
    return {
      name,
      entries: parseHistory(cm.data?.['history.json']),
      ...(cm.metadata?.resourceVersion && { resourceVersion: cm.metadata.resourceVersion }),
    };
  } catch (err) {
    if (isNotFound(err)) return { name, entries: [] };
    throw kubeError(`reading history ConfigMap ${namespace}/${name}`, err);
  }
}

function historyConfigMap(namespace: string, history: History, entry: HistoryEntry, limit: number, report: RunReport): V1ConfigMap {
  const { verdicts, ...latest } = entry;
  const keys = (wanted: string[]): string[] => Object.keys(verdicts).filter((k) => wanted.includes(verdicts[k] ?? ''));
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: history.name,
      namespace,
      labels: { 'app.kubernetes.io/name': 'egress-verify', [HISTORY_LABEL]: 'true' },
      ...(history.resourceVersion && { resourceVersion: history.resourceVersion }),
    },
    data: {
      // `kubectl get cm NAME -o jsonpath='{.data.latest\.md}'` reads like the PR comment.
      'latest.md': renderMarkdown(report),
      'latest.json': `${JSON.stringify({ ...latest, bypasses: keys(['fail']), inconclusive: keys(['inconclusive', 'error']), warnings: report.warnings ?? [] }, null, 2)}\n`,
      'history.json': `${JSON.stringify(appendHistory(history.entries, entry, limit))}\n`,
    },
  };
}

/** Read-modify-write with the resourceVersion; a concurrent writer costs a re-read, at most twice. */
async function writeHistory(kube: Kube, namespace: string, history: History, entry: HistoryEntry, limit: number, report: RunReport) {
  let current = history;
  for (let attempt = 0; ; attempt++) {
    const body = historyConfigMap(namespace, current, entry, limit, report);
    try {
      if (current.resourceVersion === undefined) await kube.core.createNamespacedConfigMap({ namespace, body });
      else await kube.core.replaceNamespacedConfigMap({ name: current.name, namespace, body });
      return;
    } catch (err) {
      const code = apiStatus(err)?.code;
      if ((code === 409 || code === 404) && attempt < 2) {
        current = await readHistory(kube, namespace, current.name);
        continue;
      }
      throw kubeError(`writing history ConfigMap ${namespace}/${current.name}`, err);
    }
  }
}

async function policyReportsServed(kube: Kube): Promise<boolean> {
  const groups = await kubeCall('discovering API groups', () => kube.config.makeApiClient(ApisApi).getAPIVersions());
  return groups.groups.some((g) => g.name === POLICY_GROUP && g.versions.some((v) => v.version === POLICY_VERSION));
}

async function writePolicyReport(kube: Kube, namespace: string, body: Record<string, unknown>, name: string): Promise<void> {
  const api = kube.config.makeApiClient(CustomObjectsApi);
  const where = { group: POLICY_GROUP, version: POLICY_VERSION, namespace, plural: 'policyreports' };
  await kubeCall(`writing PolicyReport ${namespace}/${name}`, async () => {
    try {
      const existing = (await api.getNamespacedCustomObject({ ...where, name })) as { metadata?: { resourceVersion?: string } };
      const metadata = { ...(body.metadata as object), resourceVersion: existing.metadata?.resourceVersion };
      await api.replaceNamespacedCustomObject({ ...where, name, body: { ...body, metadata } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await api.createNamespacedCustomObject({ ...where, body });
    }
  });
}

export interface RecordInput {
  namespace: string;
  history: History;
  limit: number;
  targets: readonly WorkloadTarget[];
  report: RunReport;
  changes?: ReportDiff;
  evidence?: HistoryEntry['evidence'];
}

/** Records the run; returns one line per part that could not be written. */
export async function recordOutcome(kube: Kube, input: RecordInput): Promise<string[]> {
  const problems: string[] = [];
  const now = new Date();
  const instance = process.env.EGRESS_VERIFY_POD_NAME ?? hostname();
  const events = kube.config.makeApiClient(EventsV1Api);
  const tasks: Promise<unknown>[] = [
    writeHistory(kube, input.namespace, input.history, historyEntry(input.report, input.evidence), input.limit, input.report),
  ];
  for (const target of input.targets) {
    // --record is refused with --selector; a workload read without a uid has no object to name.
    if (target.ref === undefined) continue;
    const body = workloadEvent({ ...target, ref: target.ref }, input.report, input.changes, input.evidence?.chain, instance, now);
    // eventTime goes out as the string built here: client-node would send a Date with
    // milliseconds, and the API server's MicroTime parser wants exactly six digits.
    tasks.push(
      kubeCall(`creating an Event on ${target.description}`, () =>
        events.createNamespacedEvent({ namespace: input.namespace, body: body as unknown as EventsV1Event }),
      ),
    );
  }
  tasks.push(
    policyReportsServed(kube).then((served) =>
      served
        ? writePolicyReport(kube, input.namespace, policyReport(input.history.name, input.targets, input.report, now), input.history.name)
        : undefined,
    ),
  );
  for (const outcome of await Promise.allSettled(tasks)) {
    if (outcome.status === 'rejected') problems.push((outcome.reason as Error).message);
  }
  return problems;
}
