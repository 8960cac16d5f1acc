/**
 * Writes an evidence bundle: the run's report in every rendering an auditor or CI reads, what
 * was tested as the API showed it, and the manifest (signed when a key is given) last.
 */
import type { KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../base/errors.js';
import { redactUrlCredentials } from '../base/redact.js';
import type { Format } from '../report/formats.js';
import { checkWritable, render } from '../report/output.js';
import type { Report } from '../report/report.js';
import { buildManifest, MANIFEST, type Manifest, SIGNATURE, serializeManifest, signManifest } from './manifest.js';
import type { ClusterIdentity, Snapshot } from './snapshot.js';

/** The bundle's layout (docs/evidence.md); run.json and snapshot/ are added beside it. */
const REPORT_FILES: readonly [string, Format][] = [
  ['report.json', 'json'],
  ['report.tap', 'tap'],
  ['report.junit.xml', 'junit'],
  ['report.html', 'html'],
  ['summary.md', 'md'],
];

/** Who ran what, where, with which tool: the facts the report's subject does not hold. */
export interface RunRecord {
  tool: { name: 'egress-verify'; version: string; image: string; imageId?: string };
  cluster: ClusterIdentity;
  namespace: string;
  workloads: string[];
  companions: string[];
  runId: string;
  startedAt: string;
  finishedAt: string;
  /** The controller: its pod when in-cluster, else the host it ran on. */
  ranBy: { pod?: string; host: string };
  arguments: string[];
  /** What the snapshot could not read. */
  gaps: string[];
}

/** Refuses a directory that already holds anything, before the run: a bundle is never merged into another. */
export function checkBundleDir(dir: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new UsageError(`--evidence ${dir} is a file: give a new directory`);
    if (readdirSync(dir).length > 0) throw new UsageError(`--evidence ${dir} is not empty: give a new directory`);
  }
  checkWritable(join(dir, MANIFEST), `--evidence ${dir}`);
}

export function writeBundle(
  dir: string,
  input: { report: Report; snapshot: Snapshot; run: RunRecord; signer?: KeyObject; previous?: string },
): Manifest {
  const files: [string, string][] = [
    ...REPORT_FILES.map(([name, format]): [string, string] => [name, render(format, input.report)]),
    ['run.json', json(input.run)],
    ['snapshot/networkpolicies.json', json(input.snapshot.networkPolicies)],
    ['snapshot/companion.json', json(input.snapshot.companion)],
    ['snapshot/workloads.json', json(input.snapshot.workloads)],
    ['snapshot/probe-pods.json', json(input.snapshot.probePods)],
    ['snapshot/nodes.json', json(input.snapshot.nodes)],
  ];
  for (const [name, text] of files) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const manifest = buildManifest(
    dir,
    { createdAt: new Date().toISOString(), runId: input.run.runId, ...(input.previous && { previous: input.previous }) },
    input.signer,
  );
  const bytes = serializeManifest(manifest);
  writeFileSync(join(dir, MANIFEST), bytes);
  if (input.signer) writeFileSync(join(dir, SIGNATURE), `${signManifest(bytes, input.signer)}\n`);
  return manifest;
}

const json = (value: unknown): string => redactUrlCredentials(`${JSON.stringify(value, null, 2)}\n`);
