/**
 * `run -l` over workloads across namespaces, on the lab cluster: a second namespace holds a
 * Deployment, a CronJob and a bare Pod of role=agent-workload that use the reference companion
 * in production-agents, behind a policy of their own. One run covers them and data-processor,
 * a bypass in one workload fails the whole run, and bad selectors are one-line usage errors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import t from 'tap';
import { agentPodSpec, apply, exitIfClusterSkipped, kc, kubectl, LAB_RUN_ARGS, probePods, REFERENCE_NS, runCli, sleep } from './cluster.js';

t.setTimeout(900_000);
exitIfClusterSkipped(t);

const NS = 'ev-discovery';
const scratch = mkdtempSync(join(tmpdir(), 'ev-discovery-'));
const COMPANION = `http://egress-guardian-svc.${REFERENCE_NS}.svc.cluster.local:8080`;
const egressVerify = (args: string[]) => runCli([...LAB_RUN_ARGS, '--start-timeout', '60', ...args], scratch, 240_000);

const podSpec = agentPodSpec(COMPANION);
const agent = (app: string) => ({ role: 'agent-workload', app });

t.before(async () => {
  kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=true'], { timeoutMs: 120_000 });
  apply(dump({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'egress-verify-test': 'discovery' } } }));
  // The companion's CA, where --companion-ca secret/... reads it: the workload's namespace.
  const ca = kc(['-n', REFERENCE_NS, 'get', 'secret', 'guardian-tls-ca', '-o', 'jsonpath={.data.ca\\.pem}']);
  const docs = [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'guardian-tls-ca', namespace: NS }, data: { 'ca.pem': ca } },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'restrict-workload-egress', namespace: NS },
      spec: {
        podSelector: { matchLabels: { role: 'agent-workload' } },
        policyTypes: ['Egress'],
        egress: [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': REFERENCE_NS } },
                podSelector: { matchLabels: { app: 'egress-guardian' } },
              },
            ],
            ports: [{ port: 8080, protocol: 'TCP' }],
          },
          {
            to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
            ports: [
              { port: 53, protocol: 'UDP' },
              { port: 53, protocol: 'TCP' },
            ],
          },
        ],
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'agent-a', namespace: NS },
      spec: {
        replicas: 1,
        selector: { matchLabels: agent('agent-a') },
        template: { metadata: { labels: agent('agent-a') }, spec: podSpec },
      },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'agent-cron', namespace: NS },
      spec: {
        schedule: '0 0 1 1 *',
        suspend: true,
        jobTemplate: { spec: { template: { metadata: { labels: agent('agent-cron') }, spec: { ...podSpec, restartPolicy: 'Never' } } } },
      },
    },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'agent-pod', namespace: NS, labels: agent('agent-pod') }, spec: podSpec },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'not-an-agent', namespace: NS },
      spec: { replicas: 0, selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' } }, spec: podSpec } },
    },
  ];
  for (const doc of docs) apply(dump(doc));
  kc(['-n', NS, 'rollout', 'status', 'deployment/agent-a', '--timeout=120s'], { timeoutMs: 130_000 });
  kc(['-n', NS, 'wait', '--for=condition=Ready', 'pod/agent-pod', '--timeout=120s'], { timeoutMs: 130_000 });
  await sleep(3000); // kube-router programs the new pods' policy asynchronously
});

t.teardown(() => {
  kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=false']);
  rmSync(scratch, { recursive: true, force: true });
});

const OURS = [`${NS}/cronjob/agent-cron`, `${NS}/deployment/agent-a`, `${NS}/pod/agent-pod`];

t.test('-A -l role=agent-workload: every matching workload of every namespace, one report', async (t) => {
  const r = egressVerify(['-A', '-l', 'role=agent-workload']);
  const notOk = r.stdout.split('\n').filter((l) => l.startsWith('not ok'));
  t.equal(r.code, 0, `exit 0\n${notOk.join('\n')}\n${r.stderr}`);
  const workloads = new Set(r.report?.results.map((x) => x.workload));
  for (const w of [...OURS, `${REFERENCE_NS}/deployment/data-processor`]) {
    t.ok(workloads.has(w), `${w} is covered`);
    t.match(r.stdout, new RegExp(`^# workload: ${w}$`, 'm'), `${w} has its TAP section`);
  }
  t.notOk(
    [...workloads].some((w) => w?.includes('not-an-agent')),
    'a workload the selector does not match is left out',
  );
  t.equal(r.report?.subject?.pods?.length, workloads.size, 'one probe pod per workload: pods of a workload count once');
  t.same([...probePods(NS), ...probePods()], [], 'no probe pod is left behind in either namespace');
  t.same(kc(['-n', NS, 'get', 'configmaps', '-l', 'egress-verify.dev/run', '-o', 'name']).trim(), '', 'nor a run object');
});

t.test('--namespace-selector: only the namespaces it picks; a bypass in one workload fails the run', async (t) => {
  const open = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'open-agent-pod', namespace: NS },
    spec: { podSelector: { matchLabels: { app: 'agent-pod' } }, policyTypes: ['Egress'], egress: [{}] },
  };
  apply(dump(open));
  t.teardown(() => kubectl(['-n', NS, 'delete', 'networkpolicy', 'open-agent-pod', '--ignore-not-found']));
  await sleep(3000);
  const r = egressVerify(['--namespace-selector', 'egress-verify-test=discovery', '-l', 'role=agent-workload']);
  t.equal(r.code, 1, 'exit 1: one workload has a bypass');
  // One namespace: workloads are named without it.
  const ours = OURS.map((w) => w.slice(NS.length + 1));
  t.same([...new Set(r.report?.results.map((x) => x.workload))].sort(), ours, 'the picked namespace only');
  const failing = new Set(r.report?.results.filter((x) => x.verdict === 'fail').map((x) => x.workload));
  t.same([...failing], ['pod/agent-pod'], 'the bypass is reported under the workload that has it');
});

t.test('bad selectors and scopes: one line, exit 2, nothing created', async (t) => {
  const cases: [string, string[], RegExp][] = [
    ['unparsable selector', ['-A', '-l', 'role in (a'], /-l\/--selector: cannot parse/],
    ['selector that matches nothing', ['-A', '-l', 'role=nobody-at-all'], /matches no workload in any namespace/],
    [
      'namespace selector that matches nothing',
      ['--namespace-selector', 'no-such=label', '-l', 'role=agent-workload'],
      /matches no namespace/,
    ],
    ['bad namespace selector', ['--namespace-selector', '=x', '-l', 'role=agent-workload'], /--namespace-selector: cannot parse/],
    ['unknown namespace', ['-n', 'no-such-namespace', '-l', 'role=agent-workload'], /namespace "no-such-namespace" not found/],
    ['-A with --workload', ['-A', '--workload', 'deployment/agent-a'], /--workload names an object of one namespace/],
    ['-A with -n', ['-A', '-n', NS, '-l', 'role=agent-workload'], /give one of -n\/--namespace/],
  ];
  for (const [what, args, message] of cases) {
    const r = egressVerify(args);
    t.equal(r.code, 2, `${what}: exit 2`);
    t.match(r.stderr.trim(), message, what);
    t.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line`);
  }
  t.same(probePods(NS), []);
});
