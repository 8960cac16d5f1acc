/**
 * The Helm chart (manifests/helm/egress-verify): `helm lint`, `helm template` with lab values
 * and with the defaults, what it renders (custody, RBAC that preflight accepts, --record and the
 * evidence), and a server-side dry run of the output against the lab cluster's API server.
 * Helm is built from its Go module by lab/cluster/build.sh and cached outside the repository.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1PolicyRule } from '@kubernetes/client-node';
import { dump, loadAll } from 'js-yaml';
import t from 'tap';
import { auditObjects } from '../../src/audit/audit.js';
import { parseManifests } from '../../src/audit/manifests.js';
import { CONTROL_PERMISSIONS } from '../../src/controller/control-pod.js';
import { EVIDENCE_PERMISSIONS, RUN_PERMISSIONS, recordPermissions } from '../../src/controller/preflight.js';
import { grants, tooWide } from '../rbac.js';
import {
  companionCaCert,
  exitIfClusterSkipped,
  kc,
  kubectl,
  LAB_CATALOGUE,
  PROBE_IMAGE,
  REFERENCE_NS,
  REPO_ROOT,
  run,
  uniqueName,
} from './cluster.js';

t.setTimeout(300_000);
exitIfClusterSkipped(t);

const versions = readFileSync(join(REPO_ROOT, 'lab/cluster/versions.sh'), 'utf8');
const HELM_VERSION = /HELM_VERSION="\$\{HELM_VERSION:-([^}]+)\}"/.exec(versions)?.[1] ?? '';
const HELM = process.env.EV_HELM ?? `${process.env.EV_CACHE ?? '/var/cache/egress-verify'}/bin/helm-${HELM_VERSION}/helm`;
// lab/cluster/up.sh builds it with the cluster's binaries (build.sh).
if (!existsSync(HELM)) throw new Error(`no helm at ${HELM}: run bash lab/cluster/build.sh`);
const CHART = join(REPO_ROOT, 'manifests/helm/egress-verify');
const scratch = mkdtempSync(join(tmpdir(), 'ev-helm-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
// Helm keeps its caches and config out of the repository and the home directory.
const HELM_HOMES = [`HELM_CACHE_HOME=${scratch}/cache`, `HELM_CONFIG_HOME=${scratch}/config`, `HELM_DATA_HOME=${scratch}/data`];
const helm = (args: string[]) => run('env', [...HELM_HOMES, HELM, ...args], { timeoutMs: 60_000 });

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  rules?: V1PolicyRule[];
  subjects?: { kind: string; name: string; namespace: string }[];
  // biome-ignore lint/suspicious/noExplicitAny: a rendered manifest is read field by field.
  spec?: any;
}

const CONTROLLER_NS = uniqueName('ev-helm');
const CONTROL_NS = `${CONTROLLER_NS}-control`;
const caPem = companionCaCert();
const labValues = join(scratch, 'lab-values.yaml');
writeFileSync(
  labValues,
  dump({
    namespace: { name: CONTROLLER_NS, create: true },
    image: { repository: PROBE_IMAGE.split(':')[0], tag: PROBE_IMAGE.split(':')[1], pullPolicy: 'Never' },
    targets: [
      { namespace: REFERENCE_NS, workload: 'deployment/data-processor' },
      { namespace: REFERENCE_NS, workload: 'deployment/egress-guardian', companion: 'http://egress-guardian-svc:8080' },
    ],
    companion: { caCertificate: caPem },
    catalogue: readFileSync(LAB_CATALOGUE, 'utf8'),
    evidence: { enabled: true },
    extraArgs: ['--image-pull-policy=Never'],
  }),
);

function render(...args: string[]): Obj[] {
  const r = helm(['template', 'ev', CHART, ...args]);
  if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return (loadAll(r.stdout) as (Obj | null)[]).filter((o): o is Obj => o !== null);
}

t.test(`helm ${HELM_VERSION} lints the chart, with its defaults and with lab values`, async (t) => {
  for (const args of [[], ['-f', labValues], ['--set', 'allNamespaces=true']]) {
    const r = helm(['lint', '--strict', CHART, ...args]);
    t.equal(r.code, 0, `helm lint ${args.join(' ')}\n${r.stdout}${r.stderr}`);
  }
});

t.test("the chart's output passes the project's own audit: the controller's policy is not wide", async (t) => {
  const rendered = render();
  const objects = rendered.flatMap((o, i) => parseManifests(`helm-template-${i}.yaml`, dump(o)).objects);
  t.same(
    auditObjects(objects)
      .filter((f) => f.severity !== 'info')
      .map((f) => `${f.ruleId} ${f.object.kind}/${f.object.name}`),
    [],
  );
  t.ok(
    rendered.some((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'default-deny-egress'),
    "the controller's namespace denies egress to every other pod",
  );
});

t.test('custody: the controller, its key and the pinned CA live in its own namespace', async (t) => {
  const objs = render('-f', labValues);
  const inControllerNs = ['ServiceAccount', 'CronJob', 'Job', 'PersistentVolumeClaim', 'ConfigMap', 'NetworkPolicy'];
  for (const o of objs.filter((o) => inControllerNs.includes(o.kind)))
    t.equal(o.metadata.namespace, CONTROLLER_NS, `${o.kind} ${o.metadata.name}`);
  t.same(
    objs.filter((o) => o.metadata.namespace === REFERENCE_NS).map((o) => o.kind),
    ['Role', 'RoleBinding'],
    'the tested namespace gets one Role and its binding, nothing else',
  );
  const role = objs.find((o) => o.kind === 'Role');
  const rules = role?.rules ?? [];
  for (const workload of ['deployment-data-processor', 'deployment-egress-guardian'])
    for (const p of [
      ...RUN_PERMISSIONS,
      ...EVIDENCE_PERMISSIONS.filter((p) => !p.cluster),
      ...recordPermissions(`egress-verify-${workload}`),
    ])
      t.ok(grants(rules, p), `${p.verb} ${p.resource}${p.name ? ` ${p.name}` : ''}`);
  t.same(tooWide(rules), [], 'no Secret, no wildcard, no deletecollection');
  t.match(objs.find((o) => o.kind === 'RoleBinding')?.subjects, [
    { kind: 'ServiceAccount', name: 'egress-verify', namespace: CONTROLLER_NS },
  ]);
  const evidenceRole = objs.find((o) => o.kind === 'ClusterRole');
  for (const p of EVIDENCE_PERMISSIONS.filter((p) => p.cluster)) t.ok(grants(evidenceRole?.rules ?? [], p), `${p.verb} ${p.resource}`);
});

t.test('a CronJob per target with the schedule and --record, a hook Job, the evidence on a PVC', async (t) => {
  const objs = render('-f', labValues, '--set', 'schedule=*/5 * * * *');
  const cronJobs = objs.filter((o) => o.kind === 'CronJob');
  t.equal(cronJobs.length, 2);
  const pod = cronJobs[0]?.spec.jobTemplate.spec.template.spec;
  t.equal(cronJobs[0]?.spec.schedule, '*/5 * * * *');
  const args: string[] = pod.containers[0].args;
  for (const a of [
    '--namespace=production-agents',
    '--workload=deployment/data-processor',
    '--record',
    '--companion-ca=/companion-ca/ca.crt',
    '--catalogue=/catalogue/catalogue.yaml',
    '--evidence=/evidence/$(EGRESS_VERIFY_POD_NAME)',
    '--evidence-key=/evidence-key/evidence.key',
  ])
    t.ok(args.includes(a), a);
  t.ok(cronJobs[1]?.spec.jobTemplate.spec.template.spec.containers[0].args.includes('--companion=http://egress-guardian-svc:8080'));
  t.match(pod.volumes, [
    { name: 'reports' },
    { name: 'companion-ca', configMap: { name: 'egress-verify-companion-ca' } },
    { name: 'catalogue' },
    { name: 'evidence', persistentVolumeClaim: { claimName: 'egress-verify-evidence' } },
    { name: 'evidence-key', secret: { secretName: 'egress-verify-evidence-key', defaultMode: 0o440 } },
  ]);
  t.match(pod.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  const jobs = objs.filter((o) => o.kind === 'Job');
  t.equal(jobs.length, 2);
  t.match(jobs[0]?.metadata.annotations, { 'helm.sh/hook': 'post-install,post-upgrade' });
  t.notOk(jobs[0]?.spec.template.spec.containers[0].args.includes('--record'), 'the smoke test records nothing');
  t.ok(objs.some((o) => o.kind === 'PersistentVolumeClaim'));

  t.notOk(
    args.some((a) => a.startsWith('--pushgateway')),
    'no push unless asked',
  );
  const defaults = render();
  t.notOk(
    defaults.some((o) => o.kind === 'PersistentVolumeClaim'),
    'no evidence unless asked',
  );
  t.notOk(
    defaults
      .find((o) => o.kind === 'CronJob')
      ?.spec.jobTemplate.spec.template.spec.containers[0].args.some((a: string) => a.startsWith('--companion-ca')),
    'without a CA the run does not claim to check interception',
  );
});

t.test('allNamespaces: one ClusterRole bound cluster-wide instead of a Role per namespace', async (t) => {
  const objs = render('-f', labValues, '--set', 'allNamespaces=true');
  t.notOk(objs.some((o) => o.kind === 'Role' || o.kind === 'RoleBinding'));
  const role = objs.find((o) => o.kind === 'ClusterRole' && !o.metadata.name.includes('evidence'));
  for (const p of RUN_PERMISSIONS) t.ok(grants(role?.rules ?? [], p), `${p.verb} ${p.resource}`);
  t.ok(objs.some((o) => o.kind === 'ClusterRoleBinding' && o.subjects?.[0]?.namespace === CONTROLLER_NS));
});

t.test('control.namespace: a restricted namespace, the Role control pods need there, and --control-namespace', async (t) => {
  const objs = render('-f', labValues, '--set', `control.namespace=${CONTROL_NS}`);
  const ns = objs.find((o) => o.kind === 'Namespace' && o.metadata.name === CONTROL_NS) as
    | { metadata: { labels?: Record<string, string> } }
    | undefined;
  t.equal(ns?.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
  const role = objs.find((o) => o.kind === 'Role' && o.metadata.namespace === CONTROL_NS);
  for (const p of CONTROL_PERMISSIONS) t.ok(grants(role?.rules ?? [], p), `${p.verb} ${p.resource}`);
  t.same(tooWide(role?.rules ?? []), [], 'no Secret, no wildcard, no deletecollection');
  const binding = objs.find((o) => o.kind === 'RoleBinding' && o.metadata.namespace === CONTROL_NS);
  t.same(binding?.subjects, [{ kind: 'ServiceAccount', name: 'egress-verify', namespace: CONTROLLER_NS }]);
  for (const c of objs.filter((o) => o.kind === 'CronJob'))
    t.ok(c.spec.jobTemplate.spec.template.spec.containers[0].args.includes(`--control-namespace=${CONTROL_NS}`), c.metadata.name);
  t.notOk(
    render('-f', labValues).some((o) => o.metadata.name === 'egress-verify-control'),
    'off by default',
  );
});

t.test('the rendered chart passes a server-side dry run against the lab API server', async (t) => {
  // A dry run creates nothing, so the namespaces must exist for the objects in them.
  for (const ns of [CONTROLLER_NS, CONTROL_NS]) {
    kc(['create', 'namespace', ns]);
    t.teardown(() => kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']));
  }
  for (const [what, args] of [
    ['lab values', ['-f', labValues]],
    ['allNamespaces', ['-f', labValues, '--set', 'allNamespaces=true']],
    ['control namespace', ['-f', labValues, '--set', `control.namespace=${CONTROL_NS}`]],
  ] as const) {
    const objs = render(...args);
    const r = kubectl(['apply', '--dry-run=server', '-f', '-'], { input: objs.map((o) => dump(o)).join('---\n'), timeoutMs: 60_000 });
    t.equal(r.code, 0, `${what}: ${r.stderr}`);
    t.equal(r.stdout.trim().split('\n').length, objs.length, `${what}: every object accepted\n${r.stdout}`);
  }
});

t.test('alerting.pushgateway: the CronJobs push (the smoke-test Job does not); the policy lets them reach it', async (t) => {
  const objs = render('-f', labValues, '--set', 'alerting.pushgateway=http://pushgateway.monitoring.svc:9091');
  for (const c of objs.filter((o) => o.kind === 'CronJob'))
    t.ok(c.spec.jobTemplate.spec.template.spec.containers[0].args.includes('--pushgateway=http://pushgateway.monitoring.svc:9091'));
  for (const j of objs.filter((o) => o.kind === 'Job'))
    t.notOk(j.spec.template.spec.containers[0].args.some((a: string) => a.startsWith('--pushgateway')));
  const policy = objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'egress-verify-controller');
  t.same(policy?.spec.egress.at(-1), { ports: [{ port: 9091, protocol: 'TCP' }] }, 'its port (DNS is open already)');
  const https = render('--set', 'alerting.pushgateway=https://pushgateway.example');
  const httpsPolicy = https.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'egress-verify-controller');
  t.same(httpsPolicy?.spec.egress.at(-1), { ports: [{ port: 443, protocol: 'TCP' }] }, 'https: port 443');
});
