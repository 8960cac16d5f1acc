/**
 * The demo on the embedded default: the article's architecture in the network-namespace lab,
 * probed by the built CLI from the workload's namespace; then the same with egress wide open,
 * to show what a bypass looks like. Only lab namespaces are ever dialled. Needs root.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLab } from '../test/lab/lab.js';
import { APP_ENV, labPlan } from '../test/lab/plan.js';

const cli = fileURLToPath(new URL('../dist/src/cli.js', import.meta.url));
const lab = await startLab();
const scratch = mkdtempSync(join(tmpdir(), 'evl-demo-'));
let exitCode = 0;
try {
  const planFile = join(scratch, 'plan.json');
  writeFileSync(planFile, JSON.stringify(labPlan(lab)));
  for (const policy of ['article', 'wide-open'] as const) {
    await lab.setPolicy(policy);
    console.log(`\n### egress-verify probe, lab policy "${policy}"\n`);
    const run = await lab.exec(['node', cli, 'probe', '--plan', planFile, '-o', 'tap'], { env: APP_ENV, timeoutMs: 60_000 });
    process.stdout.write(run.stdout);
    process.stderr.write(run.stderr);
    const expected = policy === 'article' ? 'expected 3: all pass but the internal targets, which only a control pod can prove' : 'expected 1: bypass found';
    console.log(`### exit code ${run.code} (${expected})`);
    if (policy === 'article') exitCode = run.code ?? 4;
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
  await lab.close();
}
process.exit(exitCode);
