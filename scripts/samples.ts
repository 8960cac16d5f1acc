/**
 * Regenerates reports/samples/ from real runs on the lab cluster (`npm run cluster:up --
 * --with-reference` and the image first): a passing run with a signed evidence bundle, the same
 * run with egress wide open (its report carries the changes since the pass), and the offline
 * audit of the reference manifests. The signing key is thrown away; its public half is kept so
 * anyone can check the sample bundle. Only the lab's outside hosts are dialled.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, kubectl, LAB_RUN_ARGS, REFERENCE_NS, REPO_ROOT, withWideOpenEgress } from '../test/cluster/cluster.js';

// Relative to the repository, so the samples name no path of this machine.
const SAMPLES = 'reports/samples';
const scratch = mkdtempSync(join(tmpdir(), 'ev-samples-'));
const key = join(scratch, 'evidence.key');
const keys = generateKeyPairSync('ed25519');
writeFileSync(key, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());

/** Runs the CLI; a non-zero exit is expected for the bypass and the audit's findings. */
function cli(args: string[]): number {
  try {
    execFileSync('node', [CLI, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 180_000 });
    return 0;
  } catch (err) {
    return (err as { status?: number }).status ?? 4;
  }
}

const outputs = (name: string): string[] => ['json', 'html', 'md'].flatMap((f) => ['-o', `${f}=${join(SAMPLES, `${name}.${f}`)}`]);
const RUN = [...LAB_RUN_ARGS, '-n', REFERENCE_NS, '--workload', 'deployment/data-processor', '--record'];

try {
  rmSync(join(REPO_ROOT, SAMPLES), { recursive: true, force: true });
  // A fresh history, so the bypass run's changes are against the passing run.
  kubectl(['-n', REFERENCE_NS, 'delete', 'configmap', 'egress-verify-deployment-data-processor', '--ignore-not-found']);
  const pass = cli([...RUN, '--evidence', join(SAMPLES, 'evidence'), '--evidence-key', key, ...outputs('run-pass')]);
  writeFileSync(join(REPO_ROOT, SAMPLES, 'evidence.pub'), keys.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const bypass = await withWideOpenEgress(async () => cli([...RUN, ...outputs('run-bypass')]));
  const audit = cli(['audit', '-f', 'manifests/reference', ...outputs('audit-reference')]);
  console.log(`samples written to ${SAMPLES}: pass exit ${pass}, bypass exit ${bypass}, audit exit ${audit}`);
  if (pass !== 0 || bypass !== 1) process.exitCode = 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
