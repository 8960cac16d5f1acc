/**
 * The companion budget on the lab cluster: four copies of the reference workload, each probed
 * by its own pod (--no-grouping), with --companion-concurrency 2. No more than two probe pods may
 * hold connections to the companion at once, seen from the companion's own network namespace;
 * a pod that has said companion-done gives its lane to the next while it finishes, seen through
 * a watch of the pods. The run must still pass. Everything it adds is deleted at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { apply, exitIfClusterSkipped, KUBECONFIG, KUBECTL, kc, kubectl, probePods, REFERENCE_NS, run, runEgressVerify } from './cluster.js';

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
 * the container, not the phase: a pod's phase turns Succeeded a moment after its container ends.
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

/** The CNI's network namespace that holds `ip` (the companion pod's). */
function netnsOf(ip: string): string {
  for (const ns of run('ip', ['netns', 'list'])
    .stdout.split('\n')
    .map((l) => l.split(' ')[0] ?? '')) {
    if (ns.startsWith('cni-') && run('ip', ['netns', 'exec', ns, 'ip', '-4', '-o', 'addr']).stdout.includes(` ${ip}/`)) return ns;
  }
  throw new Error(`no network namespace holds ${ip}`);
}

/**
 * From samples of the companion's established connections on its proxy port (`ss -i`, a `---`
 * line between samples): the most probe pods (by address) connected at once, and how many
 * samples saw any. Sampling can miss an overlap shorter than its period; it cannot invent one.
 * Only a connection that has sent the companion something counts: a tunnel, not the path
 * watch's connect-and-close, which every probe pod makes twice a second while it dials.
 */
function companionUse(samples: string, probeIps: ReadonlySet<string>): { most: number; busy: number } {
  let most = 0;
  let busy = 0;
  for (const sample of samples.split('---\n')) {
    const peers = new Set<string>();
    let peer = '';
    for (const line of sample.split('\n')) {
      // A connection's line, then its details on an indented one.
      if (!/^\s/.test(line)) peer = line.trim().split(/\s+/).at(-1)?.replace(/:\d+$/, '') ?? '';
      else if (probeIps.has(peer) && /bytes_received:[1-9]/.test(line)) peers.add(peer);
    }
    if (peers.size > 0) busy++;
    most = Math.max(most, peers.size);
  }
  return { most, busy };
}

t.test('probe pods beyond the budget take turns at the companion, two at a time, and the run passes', async (t) => {
  const events = join(scratch, 'events.txt');
  const samples = join(scratch, 'companion.txt');
  const companionIp = kc(['-n', REFERENCE_NS, 'get', 'pod', '-l', 'app=egress-guardian', '-o', 'jsonpath={.items[0].status.podIP}']);
  // Every 20 ms for at most 7 minutes: the companion's established connections on its proxy port.
  const sampler = spawn(
    'bash',
    [
      '-c',
      `for i in $(seq 1 21000); do ip netns exec "$0" ss -Htni state established '( sport = :8080 )'; echo ---; sleep 0.02; done > "$1"`,
      netnsOf(companionIp),
      samples,
    ],
    { stdio: 'ignore' },
  );
  t.teardown(() => sampler.kill());
  // Started before the run, read after it: the run below blocks this process.
  const watch = spawn(
    'bash',
    [
      '-c',
      `exec "$0" --kubeconfig "$1" -n "$2" get pods -l egress-verify.dev/run -w --no-headers -o custom-columns=N:.metadata.name,P:.status.phase,E:.status.containerStatuses[0].state.terminated.reason,I:.status.podIP > "$3"`,
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
  sampler.kill();
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
  const probeIps = new Set(seen.split('\n').flatMap((l) => (l.trim().split(/\s+/)[3] ?? '').match(/^\d+\.\d+\.\d+\.\d+$/) ?? []));
  t.equal(probeIps.size, 4, 'an address for each probe pod');
  const use = companionUse(readFileSync(samples, 'utf8'), probeIps);
  t.ok(use.busy > 0, `the companion was seen serving probe pods (${use.busy} samples)`);
  t.ok(use.most <= 2, `never more than two probe pods connected to the companion at once (${use.most})`);
  t.ok(mostAtOnce(seen) > 2, `a pod done with the companion gave its lane to the next before it ended (${mostAtOnce(seen)} at once)`);
  t.same(probePods(), [], 'no probe pod is left behind');
});
