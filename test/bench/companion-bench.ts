/**
 * Benchmark: how many tunnels at once the lab companion (mitmproxy, intercepting TLS) serves
 * within a check deadline. One probe in the lab dials K HTTPS requests through it at once, K
 * doubling; for each K it prints how many proved the origin and the latency spread, then the
 * same K requests kept to the default companion budget. `--companion-concurrency`'s default is
 * sized from these figures (docs/benchmarks.md). Prints figures; asserts nothing. Needs root.
 * Run: npm run bench:companion [-- maxK]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_COMPANION_CONCURRENCY } from '../../probes/base/companion-budget.js';
import type { ProbePlan, ProxyHttpsCheck } from '../../probes/base/model.js';
import { probeInLab } from '../lab/harness.js';
import { startLab } from '../lab/lab.js';
import { labPlan } from '../lab/plan.js';

const MAX_K = Number(process.argv[2] ?? 128);
const DEADLINE_MS = 3000;

const lab = await startLab();
const scratch = mkdtempSync(join(tmpdir(), 'evl-companion-bench-'));
try {
  await lab.setPolicy('article');
  const base = labPlan(lab);
  const site = base.checks.find((c): c is ProxyHttpsCheck => c.kind === 'proxy-https' && c.companion.url.startsWith('http:'));
  if (site === undefined) throw new Error('the lab plan has no proxy-https check');
  const planOf = (k: number, slots?: number): ProbePlan => ({
    version: 1,
    ...(base.companionCa === undefined ? {} : { companionCa: base.companionCa }),
    ...(slots === undefined ? {} : { companionSlots: slots }),
    checks: Array.from({ length: k }, (_, i) => ({ ...site, id: `https/${i}`, deadlineMs: DEADLINE_MS })),
  });
  const row = async (label: string, plan: ProbePlan): Promise<void> => {
    const { report } = await probeInLab(lab, scratch, plan);
    const ms = report.results.map((r) => r.observation.durationMs).sort((a, b) => a - b);
    const at = (q: number): number => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? 0;
    const proved = report.results.filter((r) => r.verdict === 'pass').length;
    const wall = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
    console.log(
      `${label.padEnd(22)} ${`${proved}/${ms.length}`.padStart(8)} ${String(at(0.5)).padStart(7)} ${String(at(0.95)).padStart(7)} ${String(ms.at(-1) ?? 0).padStart(7)} ${String(wall).padStart(8)}`,
    );
  };
  console.log(`lab companion: mitmproxy intercepting TLS; deadline ${DEADLINE_MS} ms per request`);
  console.log('tunnels at once          proved  p50_ms  p95_ms  max_ms  wall_ms');
  for (let k = 1; k <= MAX_K; k *= 2) await row(`${k}`, planOf(k));
  for (let k = DEFAULT_COMPANION_CONCURRENCY * 2; k <= MAX_K; k *= 4)
    await row(`${k} in ${DEFAULT_COMPANION_CONCURRENCY} slots`, planOf(k, DEFAULT_COMPANION_CONCURRENCY));
} finally {
  rmSync(scratch, { recursive: true, force: true });
  await lab.close();
}
