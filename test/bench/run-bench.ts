/**
 * Benchmark on the lab cluster (reference architecture applied, project image imported). Prints
 * figures; asserts nothing. Run: npm run bench:cluster [-- N ...] (default 1 20 100)
 * - the floor: N trivial pods (the probe image with --version) created at once;
 * - for N workloads, identical twins (one probe stands for all) and distinct ones
 *   (--no-grouping: a probe each), the run's wall time against floor + settle + longest
 *   deadline, probe pod peak memory (its memory cgroup), controller peak RSS, and API requests
 *   per workload (the controller's own count, logged at exit);
 * - what a signed evidence bundle and --record add;
 * - a 1,000-port sweep against one port deadline.
 * Each figure starts from a quiet node: the pods of the one before gone, the CPU idle.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import type { RunReport } from '../../src/report/report.js';
import { apply, CLI, kc, kubectl, LAB_CATALOGUE, LAB_RUN_ARGS, PROBE_IMAGE, REFERENCE_NS } from '../cluster/cluster.js';

const NS = REFERENCE_NS;
const SIZES = process.argv.slice(2).map(Number);
const sizes = SIZES.length > 0 ? SIZES : [1, 20, 100];
const longestDeadline = (load(readFileSync(LAB_CATALOGUE, 'utf8')) as { deadlineMs: number }).deadlineMs;
/** The run's default --settle (s). */
const SETTLE_MS = 2000;
const scratch = mkdtempSync(join(tmpdir(), 'ev-bench-'));
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);

/** Pods in the namespace before the bench: the reference workload and its companion. */
const standingPods = podsInNamespace();

function podsInNamespace(): number {
  return kc(['-n', NS, 'get', 'pods', '-o', 'name']).split('\n').filter(Boolean).length;
}

/** Idle share of the machine's CPU over one second (the lab cluster's one node is this machine). */
async function idleShare(): Promise<number> {
  const read = (): { idle: number; total: number } => {
    const ticks = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').split(/\s+/).slice(1).map(Number);
    return { idle: (ticks[3] ?? 0) + (ticks[4] ?? 0), total: ticks.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const b = read();
  return (b.idle - a.idle) / Math.max(1, b.total - a.total);
}

/**
 * Waits, at most two minutes, until the pods of the measurements before are gone and the node
 * has been at least 80% idle for two seconds. A pod's teardown keeps the node busy for seconds
 * after its API object is gone (about 7 s for 20 trivial pods here): without the wait, each
 * measurement paid for the one before it, the runs for the floor's pods above all.
 */
async function quietNode(): Promise<void> {
  const until = performance.now() + 120_000;
  let calm = 0;
  while (calm < 2 && performance.now() < until) {
    calm = podsInNamespace() <= standingPods && (await idleShare()) >= 0.8 ? calm + 1 : 0;
    if (calm === 0) await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  if (calm < 2) console.log('     (the node was still busy after 2 min of waiting; the next figure pays for it)');
}

/** N pods of the probe image printing its version, created at once: ms until all have Succeeded. */
async function floorMs(n: number): Promise<number> {
  await quietNode();
  const label = `ev-bench-floor=${Date.now().toString(36)}`;
  const pods = Array.from({ length: n }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `ev-bench-floor-${i}`, namespace: NS, labels: { [label.split('=')[0] ?? '']: label.split('=')[1] } },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'egress-verify',
          image: PROBE_IMAGE,
          imagePullPolicy: 'Never',
          args: ['--version'],
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  }));
  const started = performance.now();
  apply(dump({ apiVersion: 'v1', kind: 'List', items: pods }));
  kc(['-n', NS, 'wait', '--for=jsonpath={.status.phase}=Succeeded', 'pod', '-l', label, '--timeout=600s'], { timeoutMs: 610_000 });
  const ms = performance.now() - started;
  kubectl(['-n', NS, 'delete', 'pod', '-l', label, '--wait=false']);
  return ms;
}

/** Memory cgroups of pods (cgroup v1 or v2), by pod UID. */
function podCgroups(): Map<string, string> {
  const found = new Map<string, string>();
  const roots = ['/sys/fs/cgroup/memory', '/sys/fs/cgroup'].filter((r) => existsSync(r));
  const walk = (dir: string, depth: number): void => {
    if (depth > 4) return;
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const m = /^pod([0-9a-f_-]{36})(\.slice)?$/.exec(e);
      if (m?.[1]) found.set(m[1].replaceAll('_', '-'), join(dir, e));
      else if (/kubepods|burstable|besteffort/.test(e)) walk(join(dir, e), depth + 1);
    }
  };
  for (const r of roots) walk(r, 0);
  return found;
}

const peakBytes = (cgroup: string): number => {
  for (const file of ['memory.max_usage_in_bytes', 'memory.peak']) {
    try {
      return Number(readFileSync(join(cgroup, file), 'utf8').trim());
    } catch {}
  }
  return 0;
};

interface Measured {
  ms: number;
  code: number | null;
  controllerRss: number;
  apiRequests: number;
  probePods: number;
  probePeak: number;
  report?: RunReport;
}

/** One run of the CLI under /usr/bin/time, its pods' memory cgroups sampled while it runs. */
async function measure(args: string[]): Promise<Measured> {
  await quietNode();
  const before = new Set(podCgroups().keys());
  const peaks = new Map<string, number>();
  const sample = (): void => {
    for (const [uid, dir] of podCgroups()) if (!before.has(uid)) peaks.set(uid, Math.max(peaks.get(uid) ?? 0, peakBytes(dir)));
  };
  const file = join(scratch, `report-${Date.now()}.json`);
  const started = performance.now();
  const child = spawn('/usr/bin/time', ['-f', 'maxrss_kib=%M', 'node', CLI, ...LAB_RUN_ARGS, '-n', NS, ...args, '-o', `json=${file}`], {
    env: { ...process.env, EGRESS_VERIFY_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const timer = setInterval(sample, 200);
  const kill = setTimeout(() => child.kill('SIGTERM'), 900_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearInterval(timer);
  clearTimeout(kill);
  const ms = performance.now() - started;
  const rss = Number(/maxrss_kib=(\d+)/.exec(stderr)?.[1] ?? 0) * 1024;
  const apiLine = stderr.split('\n').find((l) => l.includes('"apiRequests"'));
  const apiRequests = apiLine ? (JSON.parse(apiLine) as { apiRequests: number }).apiRequests : 0;
  const report = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as RunReport) : undefined;
  return {
    ms,
    code,
    controllerRss: rss,
    apiRequests,
    probePods: peaks.size,
    probePeak: Math.max(0, ...peaks.values()),
    ...(report && { report }),
  };
}

/** What kept a run from passing: its non-pass results by check and outcome, the commonest first. */
function notPassed(report: RunReport | undefined): string {
  if (report === undefined) return 'no report';
  const counts = new Map<string, number>();
  for (const r of report.results)
    if (r.verdict !== 'pass') {
      const key = `${r.verdict} ${r.id} (${r.observation.outcome})`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  return (
    [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([k, n]) => `${n}x ${k}`)
      .join('; ') || 'every result passed'
  );
}

/** The same run three times bare and three times with a signed bundle and --record: medians. */
async function evidenceOverhead(): Promise<void> {
  const key = join(scratch, 'evidence.key');
  writeFileSync(key, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const bare: number[] = [];
  const sealed: number[] = [];
  for (let i = 0; i < 3; i++) {
    bare.push((await measure(['--workload', 'deployment/data-processor'])).ms);
    sealed.push(
      (await measure(['--workload', 'deployment/data-processor', '--evidence', join(scratch, `b${i}`), '--evidence-key', key, '--record']))
        .ms,
    );
  }
  const bytes = readdirSync(join(scratch, 'b0'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((sum, e) => sum + statSync(join(e.parentPath, e.name)).size, 0);
  console.log(
    `evidence: bare run ${median(bare).toFixed(0)} ms, with a signed bundle and --record ${median(sealed).toFixed(0)} ms (+${(median(sealed) - median(bare)).toFixed(0)} ms); bundle ${(bytes / 1024).toFixed(0)} KiB`,
  );
}

const template = kc(['-n', NS, 'get', 'deployment', 'data-processor', '-o', 'json']);
/** A copy of the reference workload: the same pod template, so the same network twin. */
function benchDeployment(i: number): string {
  const d = JSON.parse(template) as { metadata: Record<string, unknown>; spec: { replicas: number } };
  const name = `ev-bench-${i}`;
  d.metadata = { name, namespace: NS };
  d.spec.replicas = 0; // the probe needs the template, not a running replica
  apply(JSON.stringify(d));
  return `deployment/${name}`;
}

const names = Array.from({ length: Math.max(...sizes) }, (_, i) => benchDeployment(i));
try {
  console.log(`longest check deadline ${longestDeadline} ms, settle ${SETTLE_MS} ms`);
  console.log('N    twins      floor_ms  wall_ms  budget_ms  ratio  exit  probe_pods  probe_peak_MiB  controller_MiB  api_req/workload');
  let identicalOne = 0;
  const floorOne = await floorMs(1);
  for (const n of sizes) {
    const floor = await floorMs(n);
    const workloads = names.slice(0, n).flatMap((w) => ['--workload', w]);
    for (const [twins, extra] of [
      ['identical', []],
      ['distinct', ['--no-grouping']],
    ] as const) {
      const m = await measure([...workloads, ...extra]);
      // One probe stands for identical twins: its floor is one pod's.
      const base = (twins === 'identical' ? floorOne : floor) + SETTLE_MS + longestDeadline;
      if (twins === 'identical' && n === 1) identicalOne = m.ms;
      console.log(
        [
          String(n).padEnd(4),
          twins.padEnd(10),
          floor.toFixed(0).padStart(8),
          m.ms.toFixed(0).padStart(8),
          base.toFixed(0).padStart(9),
          (m.ms / base).toFixed(2).padStart(6),
          String(m.code).padStart(5),
          String(m.probePods).padStart(11),
          mib(m.probePeak).padStart(15),
          mib(m.controllerRss).padStart(15),
          (m.apiRequests / n).toFixed(1).padStart(17),
        ].join(' '),
      );
      if (m.code !== 0) console.log(`     not a pass: ${notPassed(m.report)}`);
      if (twins === 'identical' && n > 1 && identicalOne > 0)
        console.log(`     identical twins: ${n} workloads took ${(m.ms / identicalOne).toFixed(2)}x one`);
    }
  }
  const swept = await measure(['--workload', 'deployment/data-processor', '--ports', '1-1000']);
  const sweep = swept.report?.results.find((r) => r.kind === 'tcp-sweep');
  const sweepMs = sweep?.observation.durationMs ?? 0;
  console.log(
    `1,000-port sweep: ${sweepMs} ms against a ${longestDeadline} ms port deadline (${(sweepMs / longestDeadline).toFixed(2)}x), verdict ${sweep?.verdict ?? 'none'}`,
  );
  await evidenceOverhead();
} finally {
  kubectl(['-n', NS, 'delete', 'deployment', ...names.map((n) => n.replace('deployment/', '')), '--wait=false']);
  rmSync(scratch, { recursive: true, force: true });
}
