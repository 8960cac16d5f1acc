/**
 * Benchmark on the lab cluster (reference architecture applied, project image imported):
 * a run's wall time against (probe pod start latency + the longest check deadline), what a signed
 * evidence bundle and --record add to it, and how wall time grows with 1, 5 and 20 workloads in
 * one run. Prints figures; asserts nothing.
 * Run: npm run bench:cluster
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { apply, CLI, kc, kubectl, LAB_CATALOGUE, LAB_RUN_ARGS, REFERENCE_NS, runVersionPod } from '../cluster/cluster.js';

const NS = REFERENCE_NS;
const longestDeadline = (load(readFileSync(LAB_CATALOGUE, 'utf8')) as { deadlineMs: number }).deadlineMs;

function podStartLatencyMs(): number {
  const name = `ev-bench-start-${Date.now().toString(36)}`;
  const started = performance.now();
  runVersionPod(name);
  const ms = performance.now() - started;
  kubectl(['-n', NS, 'delete', 'pod', name, '--wait=false']);
  return ms;
}

function runWallMs(workloads: string[], extra: string[] = []): { ms: number; code: number } {
  const args = workloads.flatMap((w) => ['--workload', w]);
  const started = performance.now();
  const r = spawnSync('node', [CLI, ...LAB_RUN_ARGS, '-n', NS, ...args, '-o', 'json=/dev/null', ...extra], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  return { ms: performance.now() - started, code: r.status ?? -1 };
}

/** The same run three times bare and three times with a signed bundle and --record: medians. */
function evidenceOverhead(): void {
  const scratch = mkdtempSync(join(tmpdir(), 'ev-bench-evidence-'));
  const key = join(scratch, 'evidence.key');
  writeFileSync(key, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  try {
    const bare = [0, 1, 2].map(() => runWallMs(['deployment/data-processor']).ms);
    const sealed = [0, 1, 2].map(
      (i) => runWallMs(['deployment/data-processor'], ['--evidence', join(scratch, `b${i}`), '--evidence-key', key, '--record']).ms,
    );
    const bytes = readdirSync(join(scratch, 'b0'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .reduce((sum, e) => sum + statSync(join(e.parentPath, e.name)).size, 0);
    console.log(
      `evidence: bare run ${median(bare).toFixed(0)} ms, with a signed bundle and --record ${median(sealed).toFixed(0)} ms (+${(median(sealed) - median(bare)).toFixed(0)} ms); bundle ${(bytes / 1024).toFixed(0)} KiB`,
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const template = kc(['-n', NS, 'get', 'deployment', 'data-processor', '-o', 'json']);
function benchDeployment(i: number): string {
  const d = JSON.parse(template) as { metadata: Record<string, unknown>; spec: { replicas: number } };
  const name = `ev-bench-${i}`;
  d.metadata = { name, namespace: NS };
  d.spec.replicas = 0; // the probe needs the template, not a running replica
  apply(JSON.stringify(d));
  return `deployment/${name}`;
}

const latency = podStartLatencyMs();
console.log(
  `probe pod start latency (create -> Succeeded, --version): ${latency.toFixed(0)} ms; longest check deadline: ${longestDeadline} ms`,
);
const one = runWallMs(['deployment/data-processor']);
console.log(
  `1 workload: run wall ${one.ms.toFixed(0)} ms (exit ${one.code}); ratio to start latency + deadline: ${(one.ms / (latency + longestDeadline)).toFixed(2)}`,
);
evidenceOverhead();
const names = Array.from({ length: 20 }, (_, i) => benchDeployment(i));
try {
  console.log('workloads  wall_ms  exit');
  for (const n of [1, 5, 20]) {
    const r = runWallMs(names.slice(0, n));
    console.log(`${String(n).padStart(9)}  ${r.ms.toFixed(0).padStart(7)}  ${r.code}`);
  }
} finally {
  kubectl(['-n', NS, 'delete', 'deployment', ...names.map((n) => n.replace('deployment/', ''))]);
}
