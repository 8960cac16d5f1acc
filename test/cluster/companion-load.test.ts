/**
 * The companion budget on the lab cluster: four copies of the reference workload, each probed
 * by its own pod (--no-grouping), with --companion-concurrency 2. No more than two probe pods may
 * run at once, seen through a watch of their own, and the run must still pass. Everything it
 * adds is deleted at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { apply, exitIfClusterSkipped, KUBECONFIG, KUBECTL, kc, kubectl, probePods, REFERENCE_NS, runEgressVerify } from './cluster.js';

t.setTimeout(600_000);
exitIfClusterSkipped(t);

const scratch = mkdtempSync(join(tmpdir(), 'ev-companion-load-'));
const template = JSON.parse(kc(['-n', REFERENCE_NS, 'get', 'deployment', 'data-processor', '-o', 'json'])) as {
  metadata: Record<string, unknown>;
  spec: { replicas: number };
};
const names = ['a', 'b', 'c', 'd'].map((s) => `ev-load-${s}`);
for (const name of names) {
  // The same pod template, so the same network twin; no replica needed, the probe reads the template.
  apply(JSON.stringify({ ...template, metadata: { name, namespace: REFERENCE_NS }, spec: { ...template.spec, replicas: 0 } }));
}
t.teardown(() => {
  kubectl(['-n', REFERENCE_NS, 'delete', ...names.map((n) => `deployment/${n}`), '--ignore-not-found', '--wait=false']);
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * The most probe pods whose probe had not yet exited at once, from every change a watch saw. By
 * the container, not the phase: a pod's phase turns Succeeded a moment after its container ends
 * (and the controller moves on), and an exited probe holds no tunnel.
 */
function mostAtOnce(events: string): number {
  const live = new Map<string, boolean>();
  let most = 0;
  for (const line of events.split('\n')) {
    const [name, phase, exited] = line.trim().split(/\s+/);
    if (!name || !phase || !exited) continue;
    live.set(name, (phase === 'Pending' || phase === 'Running') && exited === '<none>');
    most = Math.max(most, [...live.values()].filter(Boolean).length);
  }
  return most;
}

t.test('probe pods beyond the budget take turns, two at a time, and the run passes', async (t) => {
  const events = join(scratch, 'events.txt');
  // Started before the run, read after it: the run below blocks this process.
  const watch = spawn(
    'bash',
    [
      '-c',
      `exec "$0" --kubeconfig "$1" -n "$2" get pods -l egress-verify.dev/run -w --no-headers -o custom-columns=N:.metadata.name,P:.status.phase,E:.status.containerStatuses[0].state.terminated.reason > "$3"`,
      KUBECTL,
      KUBECONFIG,
      REFERENCE_NS,
      events,
    ],
    { stdio: 'ignore' },
  );
  t.teardown(() => watch.kill());
  await new Promise((r) => setTimeout(r, 1000));
  const r = runEgressVerify(
    scratch,
    ['-n', REFERENCE_NS, ...names.flatMap((n) => ['--workload', `deployment/${n}`]), '--no-grouping', '--companion-concurrency', '2'],
    420_000,
  );
  watch.kill();
  t.equal(r.code, 0, `exit 0: ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
  t.equal(r.report?.subject?.pods?.length, 4, 'a probe pod per workload');
  const seen = readFileSync(events, 'utf8');
  t.equal(
    new Set(
      seen
        .split('\n')
        .map((l) => l.split(/\s+/)[0])
        .filter(Boolean),
    ).size,
    4,
    'the watch saw all four',
  );
  t.equal(mostAtOnce(seen), 2, 'never more than two probe pods at once');
  t.same(probePods(), [], 'no probe pod is left behind');
});
