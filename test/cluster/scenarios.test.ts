/**
 * The cluster scenario matrix: the reference architecture with one thing broken at a time, each
 * run in both modes (a probe pod that is the workload's twin, and --in-pod, an ephemeral
 * container inside the live workload pod), each asserting the verdict of every check. Where the
 * twin can be exact the two modes must agree check for check. Every scenario restores what it
 * changed. The controller SIGKILLed mid-run and swept by the next run is in run.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import t, { type Test } from 'tap';
import type { CheckResult, Verdict } from '../../probes/base/model.js';
import { throwawayCa } from '../throwaway-ca.js';
import {
  agentPodSpec,
  apply,
  type CliRun,
  companionCaCert,
  exitIfClusterSkipped,
  kc,
  kubectl,
  OUTSIDE_IP,
  probePods,
  REFERENCE_NS,
  run,
  runEgressVerify,
  scaleCompanionToZero,
  sleep,
  uniqueName,
} from './cluster.js';

t.setTimeout(900_000);
exitIfClusterSkipped(t);

const NS = REFERENCE_NS;
const WORKLOAD = ['-n', NS, '--workload', 'deployment/data-processor'];
const MODES = [
  { name: 'probe pod', args: [] as string[] },
  { name: '--in-pod', args: ['--in-pod'] },
] as const;
const scratch = mkdtempSync(join(tmpdir(), 'ev-scenarios-'));
const started = Date.now();
t.teardown(() => {
  rmSync(scratch, { recursive: true, force: true });
  // --in-pod leaves its ephemeral containers in the workload pods: replace them.
  kc(['-n', NS, 'rollout', 'restart', 'deployment/data-processor']);
  kc(['-n', NS, 'rollout', 'status', 'deployment/data-processor', '--timeout=120s'], { timeoutMs: 130_000 });
  console.error(`# scenario matrix wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

type Expected = (r: CheckResult) => Verdict;
const mustFail = (r: CheckResult): boolean => r.expect === 'blocked';
const aimedAtOutside = (r: CheckResult): boolean => r.target.includes(OUTSIDE_IP);
const throughCompanion = (r: CheckResult): boolean => r.kind.startsWith('proxy-');

/** Every check has the verdict the scenario expects, and the run's exit code follows from them. */
function assertVerdicts(t: Test, r: CliRun, expected: Expected, code: number): Map<string, Verdict> {
  t.equal(r.code, code, `exit ${code}: ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
  const results = r.report?.results ?? [];
  t.ok(results.length >= 8, `a report with every check (${results.length})`);
  const verdicts = new Map<string, Verdict>();
  for (const result of results) {
    t.equal(result.verdict, expected(result), `${result.id}: ${result.reason} (${result.observation.detail})`);
    verdicts.set(result.id, result.verdict);
  }
  return verdicts;
}

/** One scenario in both modes: the same verdict for every check, as the twin is exact here. */
async function bothModes(t: Test, expected: Expected, code: number, extra: string[] = []): Promise<CliRun[]> {
  const runs: CliRun[] = [];
  const seen: Map<string, Verdict>[] = [];
  for (const mode of MODES) {
    const r = runEgressVerify(scratch, [...WORKLOAD, ...mode.args, ...extra]);
    await t.test(mode.name, async (t) => {
      seen.push(assertVerdicts(t, r, expected, code));
    });
    runs.push(r);
  }
  t.same([...(seen[1] ?? [])].sort(), [...(seen[0] ?? [])].sort(), 'both modes: the same verdict for every check');
  t.same(probePods(), [], 'no probe pod left behind');
  return runs;
}

/** A NetworkPolicy added for the scenario's duration; kube-router applies changes asynchronously. */
async function withPolicy<T>(name: string, spec: Record<string, unknown>, fn: () => Promise<T>): Promise<T> {
  apply(dump({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: NS }, spec }));
  try {
    await sleep(3000);
    return await fn();
  } finally {
    kc(['-n', NS, 'delete', 'networkpolicy', name, '--ignore-not-found']);
    await sleep(3000);
  }
}

/** restrict-workload-egress edited (or deleted, with undefined) for the scenario's duration. */
async function withWorkloadPolicy<T>(
  edit: ((spec: Record<string, unknown>) => Record<string, unknown>) | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  const original = load(kc(['-n', NS, 'get', 'networkpolicy', 'restrict-workload-egress', '-o', 'yaml'])) as {
    spec: Record<string, unknown>;
  };
  const restore = dump({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'restrict-workload-egress', namespace: NS },
    spec: original.spec,
  });
  if (edit === undefined) kc(['-n', NS, 'delete', 'networkpolicy', 'restrict-workload-egress']);
  else kc(['-n', NS, 'replace', '-f', '-'], { input: dump({ ...(load(restore) as object), spec: edit(structuredClone(original.spec)) }) });
  try {
    await sleep(3000);
    return await fn();
  } finally {
    apply(restore);
    await sleep(3000);
  }
}

t.test('the reference architecture: every check passes', async (t) => {
  const [pod, inPod] = await bothModes(t, () => 'pass', 0);
  t.match(pod?.report?.subject?.twins?.[0], { workload: 'deployment/data-processor', copied: ['namespace', 'labels'] });
  t.notOk(
    pod?.report?.subject?.twins?.[0]?.differences.some((d) => d.decidesEgress),
    'the probe pod differs in nothing that decides egress',
  );
  t.match(inPod?.report?.subject?.pods?.[0], { name: /^data-processor-/, outcome: /^ephemeral container egress-verify-/ });
  const ephemeral = kc([
    '-n',
    NS,
    'get',
    'pods',
    '-l',
    'app=data-processor',
    '-o',
    'jsonpath={.items[*].spec.ephemeralContainers[*].name}',
  ]);
  t.match(ephemeral, /egress-verify-/, 'the trace --in-pod leaves: its container stays in the pod spec');
});

t.test("a typo in the policy's selector: every must-fail check is a bypass", async (t) => {
  await withWorkloadPolicy(
    (spec) => ({ ...spec, podSelector: { matchLabels: { role: 'agent-worklaod' } } }),
    async () => {
      const [pod] = await bothModes(t, (r) => (mustFail(r) ? 'fail' : 'pass'), 1);
      t.ok(
        pod?.report?.warnings?.some((w) => /^no egress policy of any kind read selects deployment\/data-processor:/.test(w)),
        'the report warns that no egress policy selects the workload',
      );
    },
  );
});

t.test('no policy at all: every must-fail check is a bypass', async (t) => {
  await withWorkloadPolicy(undefined, async () => {
    await bothModes(t, (r) => (mustFail(r) ? 'fail' : 'pass'), 1);
  });
});

t.test('DNS open to everywhere: direct queries to the outside resolver are bypasses, the rest holds', async (t) => {
  const dnsOpen = {
    podSelector: { matchLabels: { role: 'agent-workload' } },
    policyTypes: ['Egress'],
    egress: [
      {
        ports: [
          { port: 53, protocol: 'UDP' },
          { port: 53, protocol: 'TCP' },
        ],
      },
    ],
  };
  await withPolicy('ev-scenario-dns-open', dnsOpen, async () => {
    await bothModes(t, (r) => (r.id.startsWith('dns/direct/') ? 'fail' : 'pass'), 1);
  });
});

t.test('companion not intercepting TLS: the interception checks fail, blocked checks still pass', async (t) => {
  // A CA the companion does not sign with: the certificate it shows is not the one the
  // workloads trust, exactly what a companion that passes TLS through shows.
  const dir = mkdtempSync(join(scratch, 'other-ca-'));
  const { cert } = throwawayCa(dir, 'not the companion');
  const runs = await bothModes(t, (r) => (throughCompanion(r) && r.kind !== 'proxy-connect' ? 'fail' : 'pass'), 1, [
    '--companion-ca',
    cert,
  ]);
  for (const r of runs)
    t.match(
      r.report?.results.find((x) => x.kind === 'proxy-https'),
      { observation: { finding: { code: 'tls-not-intercepted', failing: true } } },
    );
});

t.test('outside host down: everything aimed at it is inconclusive, never pass', async (t) => {
  const rule = ['-d', `${OUTSIDE_IP}/32`, '-j', 'DROP'];
  const world = (args: string[]): void => {
    const r = run('ip', ['netns', 'exec', 'ev-world', 'iptables', ...args]);
    if (r.code !== 0) throw new Error(`iptables ${args.join(' ')} in ev-world: ${r.stderr}`);
  };
  world(['-I', 'INPUT', ...rule]);
  t.teardown(() => world(['-D', 'INPUT', ...rule]));
  await bothModes(t, (r) => (aimedAtOutside(r) ? 'inconclusive' : 'pass'), 3);
});

t.test('companion scaled to 0: a failing report, not a crash', async (t) => {
  t.teardown(scaleCompanionToZero());
  // The allowed path is broken (fail); nothing proves a block without it (inconclusive).
  await bothModes(t, (r) => (throughCompanion(r) ? 'fail' : mustFail(r) ? 'inconclusive' : 'pass'), 1);
});

t.test("a workload on the node's network", async (t) => {
  // A namespace whose Pod Security admits hostNetwork, and the reference workload in it on the node's network.
  const ns = uniqueName('ev-hostnet');
  t.teardown(() => kubectl(['delete', 'namespace', ns, '--wait=false']));
  apply(
    dump({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } },
    }),
  );
  apply(
    dump({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'data-processor', namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'data-processor' } },
        template: {
          metadata: { labels: { app: 'data-processor', role: 'agent-workload' } },
          spec: { ...agentPodSpec(`http://egress-guardian-svc.${NS}:8080`), hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' },
        },
      },
    }),
  );
  kc(['-n', ns, 'rollout', 'status', 'deployment/data-processor', '--timeout=120s'], { timeoutMs: 130_000 });
  // The companion's CA, as a file: its Secret lives in the reference namespace.
  const ca = join(scratch, 'guardian-ca.pem');
  writeFileSync(ca, companionCaCert());
  const args = ['-n', ns, '--workload', 'deployment/data-processor', '--companion-ca', ca];

  t.test('by default: exit 1 with host-network, before any probing, in both modes', async (t) => {
    for (const mode of MODES) {
      const r = runEgressVerify(scratch, [...args, ...mode.args]);
      t.equal(r.code, 1, `${mode.name}: exit 1 (${r.stderr.trim()})`);
      t.equal(r.report?.verdict, 'fail');
      t.same(r.report?.results, [], 'nothing was probed');
      t.match(r.report?.findings, [{ ruleId: 'host-network', severity: 'critical', decides: 'fail' }]);
      t.match(r.stdout, /^not ok 1 - host-network Deployment\/data-processor$/m, 'a failing TAP point, never "1..0"');
    }
    t.same(probePods(ns), []);
    const ephemeral = kc(['-n', ns, 'get', 'pods', '-o', 'jsonpath={.items[*].spec.ephemeralContainers[*].name}']);
    t.equal(ephemeral.trim(), '', 'and nothing was added to the workload pod');
  });

  t.test("--host-network-probe: the probe runs on the node's network and its observations decide", async (t) => {
    const seen: Map<string, Verdict>[] = [];
    for (const mode of MODES) {
      const r = runEgressVerify(scratch, [...args, '--host-network-probe', ...mode.args]);
      await t.test(mode.name, async (t) => {
        // The lab node routes to the outside world and has no firewall: every must-fail check is a bypass.
        seen.push(assertVerdicts(t, r, (x) => (mustFail(x) ? 'fail' : 'pass'), 1));
        t.notOk(
          r.report?.findings?.some((f) => f.decides !== undefined),
          'no finding decides: the observations do',
        );
      });
    }
    t.same([...(seen[1] ?? [])].sort(), [...(seen[0] ?? [])].sort(), 'both modes agree: the probe pod is on the same node network');
  });

  t.test('--host-network-probe where Pod Security forbids hostNetwork: one line, exit 2', async (t) => {
    kc(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=baseline', '--overwrite']);
    const r = runEgressVerify(scratch, [...args, '--host-network-probe']);
    t.equal(r.code, 2);
    t.match(r.stderr, /^egress-verify: --host-network-probe: namespace \S+ enforces Pod Security "baseline"/);
    t.equal(r.stderr.trim().split('\n').length, 1);
  });
});
