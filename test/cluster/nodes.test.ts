/**
 * Two nodes (issue 13 item 7): lab/cluster/node2.sh adds a second node (its own network
 * namespace, containerd, kubelet, kube-proxy and kube-router). A workload with a pod on each node
 * is probed with `run --per-node` under the article's policy, then with node 2's policy agent
 * stopped: the bypass must be node 2's alone. The suite brings node 2 up itself and down at the end.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { dump, load } from 'js-yaml';
import t from 'tap';
import type { CheckResult } from '../../probes/base/model.js';
import {
  apply,
  type CliRun,
  exitIfClusterSkipped,
  kc,
  kubectl,
  probePods,
  REFERENCE_NS,
  REPO_ROOT,
  run,
  runEgressVerify,
} from './cluster.js';

t.setTimeout(600_000);
exitIfClusterSkipped(t);

const NODE1 = 'ev-node';
const NODE2 = 'ev-node2';
/** node2.sh registers node 2 with this NoSchedule taint: only pods that tolerate it land there. */
const NODE2_TAINT = 'egress-verify.dev/second-node';
const NODE2_SH = resolve(REPO_ROOT, 'lab/cluster/node2.sh');
const WORKLOAD = 'two-node-agent';
/** Direct checks that a working policy blocks and an open path fails (run.test.ts's wide-open case). */
const DIRECT_CHECKS = ['tcp/site/203.0.113.10:443', 'curl/env-cleared/site', 'curl/noproxy/site', 'dns/direct/198.51.100.53:53/udp'];

const scratch = mkdtempSync(join(tmpdir(), 'ev-nodes-'));

function node2(...args: string[]): void {
  const r = run('bash', [NODE2_SH, ...args], { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`node2.sh ${args.join(' ')} failed (${r.code}):\n${r.stdout.slice(-2000)}\n${r.stderr}`);
}

/** The reference's data-processor, twice: tolerating node 2's taint, one on each node. */
function twoNodeWorkload(): string {
  // biome-ignore lint/suspicious/noExplicitAny: a test edits a manifest in place, field by field.
  const d = load(readFileSync(resolve(REPO_ROOT, 'manifests/reference/30-data-processor.yaml'), 'utf8')) as any;
  d.metadata.name = WORKLOAD;
  d.spec.replicas = 2;
  d.spec.selector.matchLabels = { app: WORKLOAD };
  d.spec.template.metadata.labels.app = WORKLOAD;
  d.spec.template.spec.terminationGracePeriodSeconds = 1;
  d.spec.template.spec.tolerations = [{ key: NODE2_TAINT, operator: 'Exists', effect: 'NoSchedule' }];
  // Spread, not pod anti-affinity: a probe pod carries the workload's labels (its network twin),
  // so the workload's own required anti-affinity would keep it off the very nodes it must probe.
  d.spec.template.spec.topologySpreadConstraints = [
    {
      maxSkew: 1,
      topologyKey: 'kubernetes.io/hostname',
      whenUnsatisfiable: 'DoNotSchedule',
      labelSelector: { matchLabels: { app: WORKLOAD } },
    },
  ];
  return dump(d);
}

const perNodeRun = (): CliRun =>
  runEgressVerify(scratch, ['-n', REFERENCE_NS, '--workload', `deployment/${WORKLOAD}`, '--per-node'], 240_000);

const onNode = (r: CliRun, node: string): CheckResult[] => (r.report?.results ?? []).filter((x) => x.node === node);
const failing = (r: CliRun): string =>
  (r.report?.results ?? [])
    .filter((x) => x.verdict !== 'pass')
    .map((x) => `${x.node} ${x.id}: ${x.verdict}`)
    .join('\n');

const deleteWorkload = () =>
  kubectl(['-n', REFERENCE_NS, 'delete', 'deployment', WORKLOAD, '--ignore-not-found', '--wait=true', '--timeout=60s'], {
    timeoutMs: 70_000,
  });

t.teardown(() => {
  deleteWorkload();
  node2('down');
  rmSync(scratch, { recursive: true, force: true });
});

t.before(() => {
  // A run cut short leaves its workload behind; its pods would still count for the spread.
  deleteWorkload();
  kubectl(['-n', REFERENCE_NS, 'wait', '--for=delete', 'pod', '-l', `app=${WORKLOAD}`, '--timeout=60s'], { timeoutMs: 70_000 });
  const started = Date.now();
  node2('up');
  t.comment(`node 2 up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  apply(twoNodeWorkload());
  const rollout = kubectl(['-n', REFERENCE_NS, 'rollout', 'status', `deployment/${WORKLOAD}`, '--timeout=120s'], { timeoutMs: 130_000 });
  if (rollout.code !== 0)
    throw new Error(
      `${WORKLOAD} did not roll out: ${rollout.stderr}\n${kubectl(['-n', REFERENCE_NS, 'describe', 'pods', '-l', `app=${WORKLOAD}`]).stdout}`,
    );
});

t.test('the workload runs a pod on each node', async (t) => {
  const nodes = kc(['-n', REFERENCE_NS, 'get', 'pods', '-l', `app=${WORKLOAD}`, '-o', 'jsonpath={.items[*].spec.nodeName}']);
  t.same(nodes.split(' ').filter(Boolean).sort(), [NODE1, NODE2]);
});

t.test("--per-node under the article's policy: one probe per node, every check passes on both", async (t) => {
  const r = perNodeRun();
  t.equal(r.code, 0, `exit 0\n${failing(r)}\n${r.stderr}`);
  t.same((r.report?.subject?.pods ?? []).map((p) => p.node).sort(), [NODE1, NODE2], 'one probe pod per node');
  const ids = (node: string) =>
    onNode(r, node)
      .map((x) => x.id)
      .sort();
  t.ok(ids(NODE1).length >= 10, 'node 1 ran the catalogue');
  t.same(ids(NODE2), ids(NODE1), 'node 2 ran the same checks');
  for (const x of r.report?.results ?? []) t.equal(x.verdict, 'pass', `${x.node} ${x.id}: ${x.observation.detail}`);
  t.same(probePods(), [], 'no probe pod is left behind');
});

t.test("node 2's policy agent stopped: the run fails on node 2 only", async (t) => {
  node2('agent', 'stop');
  let r: CliRun;
  try {
    r = perNodeRun();
  } finally {
    node2('agent', 'start');
  }
  t.equal(r.code, 1, 'exit 1 (bypass)');
  t.equal(r.report?.verdict, 'fail');
  const failedOn2 = onNode(r, NODE2)
    .filter((x) => x.verdict === 'fail')
    .map((x) => x.id);
  for (const id of DIRECT_CHECKS) t.ok(failedOn2.includes(id), `${id} is a bypass on ${NODE2}`);
  const elsewhere = (r.report?.results ?? []).filter((x) => x.verdict === 'fail' && x.node !== NODE2);
  t.same(
    elsewhere.map((x) => `${x.node} ${x.id}`),
    [],
    `every bypass is on ${NODE2}`,
  );
  for (const x of onNode(r, NODE1)) t.equal(x.verdict, 'pass', `${NODE1} ${x.id} still passes: ${x.observation.detail}`);
  t.ok(onNode(r, NODE1).length >= 10, `${NODE1}'s checks were run`);
  t.same(probePods(), [], 'no probe pod is left behind');
});

t.test("node 2's policy agent restarted: both nodes pass again", async (t) => {
  const r = perNodeRun();
  t.equal(r.code, 0, `exit 0\n${failing(r)}\n${r.stderr}`);
  t.same((r.report?.subject?.pods ?? []).map((p) => p.node).sort(), [NODE1, NODE2], 'one probe pod per node');
});
