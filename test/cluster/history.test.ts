/**
 * The scheduled audit on the lab cluster, as shipped (manifests/ plus the manifests/evidence
 * component): the CronJob runs on its own schedule, passes, the policy is broken, it runs again
 * and fails. What it leaves behind is checked: Events on the Deployment, the history ConfigMap,
 * a PolicyReport, and two signed evidence bundles on the PVC, chained, whose diff is the bypass.
 * The controller runs in its own namespace, where the signing key is: the audited namespace
 * can neither mount the key nor read it.
 */
import { generateKeyPairSync } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump, loadAll } from 'js-yaml';
import t from 'tap';
import type { Report } from '../../src/report/report.js';
import {
  apply,
  CLI,
  CONTROLLER_NS,
  eventually,
  exitIfClusterSkipped,
  installController,
  jobOutcome,
  kc,
  kubectl,
  pointAtLab,
  probePods,
  REFERENCE_NS,
  REPO_ROOT,
  run,
  STATE_DIR,
  toLabApiServer,
  withWideOpenEgress,
} from './cluster.js';

t.setTimeout(900_000);
exitIfClusterSkipped(t);

const NS = REFERENCE_NS;
const HISTORY = 'egress-verify-deployment-data-processor';
const CRONJOB = 'egress-verify-audit';
// The PV is a directory on this host (the only node): the test reads the bundles straight from it.
const EVIDENCE_DIR = mkdtempSync(join(STATE_DIR, 'evidence-test-'));
const NONROOT = 65532;
chownSync(EVIDENCE_DIR, NONROOT, NONROOT);
const keys = generateKeyPairSync('ed25519');
const scratch = mkdtempSync(join(tmpdir(), 'ev-history-'));
const PUBLIC = join(scratch, 'evidence.pub');
const PRIVATE = join(scratch, 'evidence.key');
writeFileSync(PUBLIC, keys.publicKey.export({ type: 'spki', format: 'pem' }).toString());
writeFileSync(PRIVATE, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());

// kustomize refuses absolute paths and overlays inside their base: a directory beside the repo's.
const KUSTOMIZE_DIR = join(REPO_ROOT, 'test-artifacts', 'evidence-kustomization');
mkdirSync(KUSTOMIZE_DIR, { recursive: true });
writeFileSync(join(KUSTOMIZE_DIR, 'kustomization.yaml'), 'resources: [../../manifests]\ncomponents: [../../manifests/evidence]\n');

function cleanup(): void {
  const C = CONTROLLER_NS;
  kubectl(['-n', C, 'delete', 'cronjob', CRONJOB, '--ignore-not-found', '--wait=true']);
  kubectl(['-n', C, 'delete', 'jobs', '-l', 'app.kubernetes.io/name=egress-verify', '--ignore-not-found', '--wait=true']);
  kubectl(['-n', C, 'delete', 'pvc', 'egress-verify-evidence', '--ignore-not-found', '--wait=false']);
  kubectl(['delete', 'pv', 'ev-evidence-test', '--ignore-not-found', '--wait=false']);
  kubectl(['-n', C, 'delete', 'secret', 'egress-verify-evidence-key', '--ignore-not-found']);
  kubectl(['-n', NS, 'delete', 'pod', 'ev-key-thief', '--ignore-not-found', '--wait=false']);
  kubectl(['-n', NS, 'delete', 'configmap', HISTORY, '--ignore-not-found']);
  kubectl(['delete', 'crd', 'policyreports.wgpolicyk8s.io', '--ignore-not-found']);
  kubectl(['delete', 'clusterrolebinding,clusterrole', 'egress-verify-evidence', '--ignore-not-found']);
}

/** The Jobs the CronJob itself started, oldest first. */
function scheduledJobs(): { name: string; created: number }[] {
  const list = JSON.parse(kc(['-n', CONTROLLER_NS, 'get', 'jobs', '-o', 'json'])) as {
    items: { metadata: { name: string; creationTimestamp: string; ownerReferences?: { kind: string; name: string }[] } }[];
  };
  return list.items
    .filter((j) => j.metadata.ownerReferences?.some((o) => o.kind === 'CronJob' && o.name === CRONJOB))
    .map((j) => ({ name: j.metadata.name, created: Date.parse(j.metadata.creationTimestamp) }))
    .sort((a, b) => a.created - b.created);
}

const nextJob = (after: number, what: string) => eventually(what, 150_000, () => scheduledJobs().find((j) => j.created >= after), 2000);

const suspend = (yes: boolean) =>
  kc(['-n', CONTROLLER_NS, 'patch', 'cronjob', CRONJOB, '--type=merge', '-p', JSON.stringify({ spec: { suspend: yes } })]);

const bundleOf = (job: string): string => {
  const pod = kc(['-n', CONTROLLER_NS, 'get', 'pods', '-l', `job-name=${job}`, '-o', 'jsonpath={.items[0].metadata.name}']).trim();
  return join(EVIDENCE_DIR, pod);
};

cleanup();
t.teardown(() => {
  cleanup();
  rmSync(EVIDENCE_DIR, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

installController();
apply(readFileSync(join(REPO_ROOT, 'test/cluster/policyreport-crd.yaml'), 'utf8'));
kc(['wait', '--for=condition=Established', 'crd/policyreports.wgpolicyk8s.io', '--timeout=60s'], { timeoutMs: 70_000 });
kc(['-n', CONTROLLER_NS, 'create', 'secret', 'generic', 'egress-verify-evidence-key', `--from-file=evidence.key=${PRIVATE}`]);
apply(`apiVersion: v1
kind: PersistentVolume
metadata:
  name: ev-evidence-test
spec:
  capacity: { storage: 1Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: { path: ${EVIDENCE_DIR}, type: Directory }
  claimRef: { namespace: ${CONTROLLER_NS}, name: egress-verify-evidence }
`);
for (const doc of loadAll(kc(['kustomize', KUSTOMIZE_DIR])) as Record<string, unknown>[]) {
  // The post-deploy Job is not what this test is about.
  if (doc.kind === 'Job') continue;
  if (doc.kind === 'CronJob') {
    pointAtLab(doc);
    (doc.spec as Record<string, unknown>).schedule = '* * * * *';
  }
  apply(dump(toLabApiServer(doc)));
}

const first = await nextJob(0, 'the first scheduled run');
const firstOutcome = await jobOutcome(first.name);
suspend(true);
let second = first;
let secondOutcome = firstOutcome;
await withWideOpenEgress(async () => {
  const brokenAt = Date.now();
  suspend(false);
  second = await nextJob(brokenAt - 1000, 'the scheduled run after the policy broke');
  secondOutcome = await jobOutcome(second.name);
  suspend(true);
});

t.test('two scheduled runs: the first passes, the one after the policy broke fails', async (t) => {
  t.not(second.name, first.name);
  t.equal(firstOutcome, 'succeeded', kc(['-n', CONTROLLER_NS, 'logs', `job/${first.name}`]).slice(-1500));
  t.equal(secondOutcome, 'failed', 'a bypass fails the Job');
  t.same(probePods(), [], 'no probe pod is left behind');
});

t.test('the history ConfigMap holds both verdicts and the latest summary', async (t) => {
  const cm = JSON.parse(kc(['-n', NS, 'get', 'configmap', HISTORY, '-o', 'json'])) as { data: Record<string, string> };
  const history = JSON.parse(cm.data['history.json'] ?? '[]') as { verdict: string; runId: string; evidence?: { chain: string } }[];
  t.same(
    history.map((h) => h.verdict),
    ['pass', 'fail'],
  );
  const latest = JSON.parse(cm.data['latest.json'] ?? '{}');
  t.match(latest, { verdict: 'fail', runId: history[1]?.runId, evidence: { chain: /^[0-9a-f]{64}$/, signedBy: /^SHA256:/ } });
  t.ok(latest.bypasses.includes('deployment/data-processor tcp/site/203.0.113.10:443'), latest.bypasses.join(', '));
  t.match(cm.data['latest.md'], /egress-verify: FAIL/);
});

t.test('Events on the Deployment: Normal for the pass, Warning naming the bypasses', async (t) => {
  const events = (
    JSON.parse(kc(['-n', NS, 'get', 'events.v1.events.k8s.io', '-o', 'json'])) as {
      items: { type: string; reason: string; note: string; reportingController: string; regarding: { kind: string; name: string } }[];
    }
  ).items.filter((e) => e.reportingController === 'egress-verify.dev/controller');
  const history = JSON.parse(kc(['-n', NS, 'get', 'configmap', HISTORY, '-o', 'jsonpath={.data.history\\.json}'])) as { runId: string }[];
  const forRun = (runId: string | undefined) => events.find((e) => runId !== undefined && e.note.includes(`run ${runId}:`));
  t.match(forRun(history[0]?.runId), {
    type: 'Normal',
    reason: 'EgressVerified',
    regarding: { kind: 'Deployment', name: 'data-processor' },
  });
  const warning = forRun(history[1]?.runId);
  t.match(warning, { type: 'Warning', reason: 'EgressBypass', regarding: { kind: 'Deployment', name: 'data-processor' } });
  t.match(warning?.note, /Bypasses: .*deployment\/data-processor tcp\/site\/203\.0\.113\.10:443/);
  t.match(warning?.note, /New since last run: .*tcp\/site\/203\.0\.113\.10:443/);
  t.match(kc(['-n', NS, 'events', '--for', 'deployment/data-processor']), /EgressBypass/, 'kubectl events --for shows it');
});

t.test('a PolicyReport, because its CRD is installed', async (t) => {
  const pr = JSON.parse(kc(['-n', NS, 'get', 'policyreports.wgpolicyk8s.io', HISTORY, '-o', 'json'])) as {
    scope: { kind: string; name: string };
    summary: { fail: number };
    results: { rule: string; result: string }[];
  };
  t.match(pr.scope, { kind: 'Deployment', name: 'data-processor' });
  t.ok(pr.summary.fail >= 4, `${pr.summary.fail} failing results`);
  t.match(
    pr.results.find((r) => r.rule === 'tcp/site/203.0.113.10:443'),
    { result: 'fail' },
  );
});

t.test('both runs left a signed bundle on the PVC, chained, and their diff is the bypass', async (t) => {
  const dirs = readdirSync(EVIDENCE_DIR).sort();
  t.equal(dirs.length, 2, dirs.join(', '));
  const [one, two] = [bundleOf(first.name), bundleOf(second.name)];
  for (const dir of [one, two]) {
    const v = run('node', [CLI, 'evidence', 'verify', dir, '--key', PUBLIC], { timeoutMs: 30_000 });
    t.equal(v.code, 0, v.stdout + v.stderr);
  }
  const m1 = JSON.parse(readFileSync(join(one, 'manifest.json'), 'utf8'));
  const m2 = JSON.parse(readFileSync(join(two, 'manifest.json'), 'utf8'));
  t.equal(m2.previous, m1.chain, "the second bundle names the first one's chain");

  const diff = run('node', [CLI, 'report', 'diff', join(one, 'report.json'), join(two, 'report.json')], { timeoutMs: 30_000 });
  t.equal(diff.code, 1, 'exit 1: a new bypass');
  for (const id of ['tcp/site/203.0.113.10:443', 'curl/env-cleared/site', 'curl/noproxy/site']) {
    t.match(
      diff.stdout,
      new RegExp(`new bypasses \\(\\d+\\):[\\s\\S]*deployment/data-processor ${id.replace(/[./]/g, '\\$&')} {2}pass -> fail`),
      id,
    );
  }
  t.notMatch(diff.stdout, /fixed/, 'nothing was fixed');
  const report = JSON.parse(readFileSync(join(two, 'report.json'), 'utf8')) as Report;
  const fromDiff = [...diff.stdout.matchAll(/^ {2}(\S+ \S+) {2}pass -> fail/gm)].map((m) => m[1]);
  t.same(
    report.changes?.newBypasses.map((c) => c.key),
    fromDiff,
    'the run computed the same changes from the history ConfigMap',
  );
});

t.test('custody: the audited namespace can neither read nor mount the signing key', async (t) => {
  const controller = `system:serviceaccount:${CONTROLLER_NS}:egress-verify`;
  const can = (as: string, ...args: string[]) => kubectl(['auth', 'can-i', '--as', as, ...args]).stdout.trim();
  t.equal(can(controller, 'get', 'secrets', '-n', NS), 'no', 'the controller reads no Secret where it probes');
  t.equal(can(controller, 'get', 'secrets', '-n', CONTROLLER_NS), 'no', 'nor in its own namespace: the key is mounted');
  t.equal(can(controller, 'deletecollection', 'pods', '-n', NS), 'no', 'probe pods are deleted by name');
  t.equal(can(controller, 'create', 'pods', '-n', CONTROLLER_NS), 'no', 'it cannot start a pod beside the key');
  // What anyone allowed to create pods in the audited namespace would try.
  apply(`apiVersion: v1
kind: Pod
metadata:
  name: ev-key-thief
  namespace: ${NS}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: RuntimeDefault } }
  containers:
    - name: read
      image: localhost/ev-tools:1
      imagePullPolicy: Never
      command: ['cat', '/key/evidence.key']
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: [ALL] } }
      volumeMounts: [{ name: key, mountPath: /key }]
  volumes:
    - name: key
      secret: { secretName: egress-verify-evidence-key }
`);
  const reason = await eventually('the thief pod to be refused its volume', 60_000, () => {
    const events = kc([
      '-n',
      NS,
      'get',
      'events',
      '--field-selector',
      'involvedObject.name=ev-key-thief',
      '-o',
      'jsonpath={.items[*].message}',
    ]);
    return /secret "egress-verify-evidence-key" not found/.test(events) ? events : undefined;
  });
  t.match(reason, /not found/);
  t.equal(kc(['-n', NS, 'get', 'pod', 'ev-key-thief', '-o', 'jsonpath={.status.phase}']).trim(), 'Pending', 'it never runs');
});
