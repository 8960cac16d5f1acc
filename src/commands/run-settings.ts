/**
 * `run`'s settings: commander's options parsed and checked once, at the CLI, into one typed
 * value. Every local input (catalogue, CA, key, selectors, output paths) is read here, before
 * the cluster is contacted: a typo must not read as "API server unreachable".
 */
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { UsageError } from '../base/errors.js';
import { readInput } from '../base/input.js';
import { toolVersion } from '../base/package-root.js';
import { type DiscoveryScope, parseSelectorFlag } from '../controller/discovery.js';
import { DEFAULT_LOG_FORMAT, parseLogFormat, type ReceiptSettings } from '../controller/receipts.js';
import { parseWorkload, type WorkloadRef } from '../controller/target.js';
import { checkBundleDir } from '../evidence/bundle.js';
import { signingKey } from '../evidence/keys.js';
import type { KubeOptions } from '../kube/client.js';
import { isSecretSpec } from '../kube/secret.js';
import { readCompanionCa } from '../plan/companion-ca.js';
import { checkCompanionUrl, type LocalPlan, loadCatalogue } from '../plan/local-plan.js';
import { type OutputSpec, parseOutputs } from '../report/output.js';
import { parsePushgateway } from '../report/pushgateway.js';
import type { RunContext } from './run-context.js';

/** The options as commander gives them (src/cli.ts). */
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
  companionConcurrency: string;
  startTimeout: string;
  staleAfter: string;
  settle: string;
  pathWait: string;
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

const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;

export interface RunSettings {
  scope: DiscoveryScope;
  /** --workload, parsed; empty with -l. */
  workloads: WorkloadRef[];
  selector?: string;
  companion?: string;
  /** --companion-ca FILE, read and checked. */
  companionCaPem?: string;
  /** --companion-ca secret/NAME[:KEY], read in each namespace of the run. */
  companionCaSecret?: string;
  plan: LocalPlan;
  receipts: ReceiptSettings;
  image: string;
  imagePullPolicy: (typeof PULL_POLICIES)[number];
  perNode: boolean;
  /** false with --no-grouping: one probe pod per workload even when their twins are identical. */
  grouping: boolean;
  hostNetworkProbe: boolean;
  inPod: boolean;
  controlNamespace?: string;
  /** Tunnels the whole run may hold through one companion at once. */
  companionConcurrency: number;
  startTimeoutMs: number;
  staleAfterMs: number;
  settleMs: number;
  /** After the settle, how long probe pods wait for the allowed path to answer (probes/allowed-path.ts). */
  pathWaitMs: number;
  kube: KubeOptions;
  outputs: OutputSpec[];
  /** --evidence DIR, with --evidence-key as a key read from a file or a Secret to read. */
  evidence?: { dir: string; key?: KeyObject; keySecret?: string };
  /** --record: Events, a history ConfigMap of `historyLength` runs, a PolicyReport. */
  record: boolean;
  historyLength: number;
  pushgateway?: URL;
  /** When the run began: the report's start, and the default JSON report's name. */
  startedAt: Date;
}

function seconds(value: string, flag: string): number {
  const n = Number(value.replace(/s$/, ''));
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new UsageError(`${flag} "${value}" must be a number of seconds (1-3600)`);
  return n * 1000;
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

/** --receipts and --receipt-format over the catalogue's `receipts`. */
function receiptSettings(opts: RunOptions, local: LocalPlan): ReceiptSettings {
  const fromCatalogue = local.catalogue.receipts;
  return {
    required: opts.receipts || fromCatalogue?.require === true,
    format: parseLogFormat(opts.receiptFormat ?? fromCatalogue?.format ?? DEFAULT_LOG_FORMAT),
  };
}

export function parseRunSettings(opts: RunOptions, ctx: Pick<RunContext, 'env' | 'now'>): RunSettings {
  const scope = scopeOf(opts);
  if ((opts.selector === undefined) === (opts.workload.length === 0)) throw new UsageError('give --selector, or one or more --workload');
  const imagePullPolicy = PULL_POLICIES.find((p) => p === opts.imagePullPolicy);
  if (imagePullPolicy === undefined) throw new UsageError('--image-pull-policy must be Always, IfNotPresent or Never');
  const startTimeoutMs = seconds(opts.startTimeout, '--start-timeout');
  const staleAfterMs = seconds(opts.staleAfter, '--stale-after');
  const settleMs = opts.settle === '0' ? 0 : seconds(opts.settle, '--settle');
  const pathWaitMs = opts.pathWait === '0' ? 0 : seconds(opts.pathWait, '--path-wait');
  // The probe takes each wait up to a minute (src/commands/probe.ts).
  if (settleMs > 60_000 || pathWaitMs > 60_000) throw new UsageError('--settle and --path-wait must be at most 60 seconds');
  const companionConcurrency = Number(opts.companionConcurrency);
  if (!Number.isInteger(companionConcurrency) || companionConcurrency < 1 || companionConcurrency > 1024)
    throw new UsageError(`--companion-concurrency "${opts.companionConcurrency}" must be a whole number of tunnels (1-1024)`);
  const historyLength = Number(opts.history);
  if (!Number.isInteger(historyLength) || historyLength < 1 || historyLength > 100)
    throw new UsageError(`--history "${opts.history}" must be a whole number of runs (1-100)`);
  if (opts.evidenceKey !== undefined && opts.evidence === undefined) throw new UsageError('--evidence-key needs --evidence DIR');
  if (opts.record && opts.selector !== undefined)
    throw new UsageError('--record needs --workload: its Events and history belong to a workload object');
  if (opts.evidence !== undefined && !('namespace' in scope)) throw new UsageError('--evidence covers one namespace: use -n');
  if (opts.evidence !== undefined) checkBundleDir(opts.evidence);
  const startedAt = ctx.now();
  const outputs = parseOutputs(
    opts.output.length > 0
      ? opts.output
      : ['tap', `json=${join(opts.reportDir, `egress-verify-run-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`)}`],
    opts.tapVersion,
  );
  const workloads = opts.workload.map(parseWorkload);
  if (opts.selector !== undefined) parseSelectorFlag(opts.selector, '-l/--selector');
  if (opts.namespaceSelector !== undefined) parseSelectorFlag(opts.namespaceSelector, '--namespace-selector');
  const plan = loadCatalogue(opts);
  const receipts = receiptSettings(opts, plan);
  if (opts.companion !== undefined) checkCompanionUrl(opts.companion);
  const ca = opts.companionCa;
  const key = opts.evidenceKey;
  return {
    scope,
    workloads,
    ...(opts.selector !== undefined && { selector: opts.selector }),
    ...(opts.companion !== undefined && { companion: opts.companion }),
    ...(ca !== undefined && (isSecretSpec(ca) ? { companionCaSecret: ca } : { companionCaPem: readCompanionCa(ca) })),
    plan,
    receipts,
    image: opts.image ?? ctx.env.EGRESS_VERIFY_IMAGE ?? DEFAULT_IMAGE,
    imagePullPolicy,
    perNode: opts.perNode,
    grouping: opts.grouping,
    hostNetworkProbe: opts.hostNetworkProbe,
    inPod: opts.inPod,
    ...(opts.controlNamespace !== undefined && { controlNamespace: opts.controlNamespace }),
    companionConcurrency,
    startTimeoutMs,
    staleAfterMs,
    settleMs,
    pathWaitMs,
    kube: {
      ...(opts.kubeconfig !== undefined && { kubeconfig: opts.kubeconfig }),
      ...(opts.context !== undefined && { context: opts.context }),
    },
    outputs,
    ...(opts.evidence !== undefined && {
      evidence: {
        dir: opts.evidence,
        ...(key !== undefined && (isSecretSpec(key) ? { keySecret: key } : { key: signingKey(readInput(key, 'evidence key'), key) })),
      },
    }),
    record: opts.record,
    historyLength,
    ...(opts.pushgateway !== undefined && { pushgateway: parsePushgateway(opts.pushgateway) }),
    startedAt,
  };
}
