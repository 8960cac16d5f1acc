/**
 * The rules that let a new pod out can come late on a busy node. Staged here: the reference
 * workload policy allows nothing while the probe pod starts, and is put back 8 s after the pod
 * runs, past its settle. The probe waits for its allowed path (--path-wait) and the run passes;
 * without the wait the same run fails on the allowed path, which shows the staging holds.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import t from 'tap';
import { exitIfClusterSkipped, KUBECONFIG, KUBECTL, kc, probePods, REFERENCE_NS, runEgressVerify, sleep } from './cluster.js';

t.setTimeout(600_000);
exitIfClusterSkipped(t);

const scratch = mkdtempSync(join(tmpdir(), 'ev-policy-lag-'));
const POLICY = 'restrict-workload-egress';
const original = load(kc(['-n', REFERENCE_NS, 'get', 'networkpolicy', POLICY, '-o', 'yaml'])) as { spec: Record<string, unknown> };
const withEgress = (egress: unknown[] | undefined): string =>
  dump({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: POLICY, namespace: REFERENCE_NS },
    spec: { ...original.spec, ...(egress === undefined ? {} : { egress }) },
  });
const restore = (): void => void kc(['-n', REFERENCE_NS, 'replace', '-f', '-'], { input: withEgress(undefined) });
t.teardown(() => {
  restore();
  rmSync(scratch, { recursive: true, force: true });
});

/** Runs the reference check with the workload's egress shut until 8 s after its probe pod runs. */
async function runWithLateRules(extra: readonly string[]) {
  kc(['-n', REFERENCE_NS, 'replace', '-f', '-'], { input: withEgress([]) });
  await sleep(3000); // kube-router applies policy changes asynchronously
  // Polls for a running probe pod for at most 120 s; then puts the policy back.
  const later = spawn(
    'bash',
    [
      '-c',
      `for i in $(seq 1 240); do
         "$0" --kubeconfig "$1" -n "$2" get pods -l egress-verify.dev/run --no-headers 2>/dev/null | grep -q ' Running ' && break
         sleep 0.5
       done
       sleep 8
       printf '%s' "$3" | "$0" --kubeconfig "$1" -n "$2" replace -f -`,
      KUBECTL,
      KUBECONFIG,
      REFERENCE_NS,
      withEgress(undefined),
    ],
    { stdio: 'ignore' },
  );
  const restored = new Promise((resolve) => later.once('exit', resolve));
  t.teardown(() => later.kill());
  const r = runEgressVerify(scratch, ['-n', REFERENCE_NS, '--workload', 'deployment/data-processor', ...extra], 240_000);
  await restored;
  await sleep(3000);
  return r;
}

t.test('a probe that waits for its allowed path proves the policy that came late', async (t) => {
  const r = await runWithLateRules([]);
  const notPassed = (r.report?.results ?? []).filter((x) => x.verdict !== 'pass').map((x) => `${x.id}: ${x.verdict}`);
  t.equal(r.code, 0, `exit 0: ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
  t.same(notPassed, [], 'every check passed');
  t.same(probePods(), [], 'no probe pod is left behind');
});

t.test('without the wait, the same late rules fail the allowed path', async (t) => {
  const r = await runWithLateRules(['--path-wait', '0']);
  const failed = (r.report?.results ?? []).filter((x) => x.verdict === 'fail');
  t.equal(r.code, 1, 'exit 1');
  t.ok(
    failed.some((x) => x.expect === 'reachable'),
    `a must-reach check failed: ${failed.map((x) => x.id).join(', ')}`,
  );
  t.notOk(
    failed.some((x) => x.expect === 'blocked'),
    'nothing was reached that the policy blocks',
  );
});
