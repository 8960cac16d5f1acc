/**
 * Benchmark: wall time of a full probe run in the lab's article scenario against its longest
 * check deadline. Every check runs at once, so the ratio should be close to 1; a ratio near the
 * number of checks would mean they ran one after another. Prints figures; asserts nothing.
 * Needs root. Run: npm run bench
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeInLab } from '../lab/harness.js';
import { startLab } from '../lab/lab.js';
import { APP_ENV, labPlan } from '../lab/plan.js';

const RUNS = 5;

const lab = await startLab();
const scratch = mkdtempSync(join(tmpdir(), 'evl-bench-'));
try {
  await lab.setPolicy('article');
  const plan = labPlan(lab);
  const longest = Math.max(...plan.checks.map((c) => c.deadlineMs));
  console.log(`checks: ${plan.checks.length}, longest deadline: ${longest} ms, runs: ${RUNS}`);
  console.log('run  process_wall_ms  probe_wall_ms  ratio(probe/deadline)  verdict');
  const ratios: number[] = [];
  for (let i = 1; i <= RUNS; i++) {
    const { code, report, wallMs: processWall } = await probeInLab(lab, scratch, plan, { env: APP_ENV });
    if (code === null) throw new Error('probe did not finish');
    const probeWall = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
    ratios.push(probeWall / longest);
    console.log(
      `${String(i).padStart(3)}  ${processWall.toFixed(0).padStart(15)}  ${String(probeWall).padStart(13)}  ${(probeWall / longest).toFixed(2).padStart(21)}  ${report.verdict}`,
    );
  }
  ratios.sort((a, b) => a - b);
  console.log(`median ratio: ${ratios[Math.floor(ratios.length / 2)]?.toFixed(2)} (1.00 = as long as the longest deadline)`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
  await lab.close();
}
