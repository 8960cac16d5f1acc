/**
 * The policy kinds beyond NetworkPolicy against a real API server: their CRDs are served (stored,
 * not enforced: kube-router enforces NetworkPolicy only), the live audit reads and judges them,
 * the identity proof covers them, and a kind the run may not list is a warning that names it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import t, { type Test } from 'tap';
import type { Report } from '../../src/report/report.js';
import {
  apply,
  CLI,
  companionCaCert,
  exitIfClusterSkipped,
  installController,
  KUBECONFIG,
  kc,
  kubectl,
  LAB_RUN_ARGS,
  REFERENCE_NS,
  run,
} from './cluster.js';

t.setTimeout(600_000);
exitIfClusterSkipped(t);

const NS = REFERENCE_NS;
const scratch = mkdtempSync(join(tmpdir(), 'ev-kinds-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

/** Applies the objects for the test's duration; cluster-scoped ones too. */
function withObjects(t: Test, yaml: string): void {
  apply(yaml);
  t.teardown(() => kubectl(['delete', '--ignore-not-found', '--wait=true', '-f', '-'], { input: yaml }));
}

function audit(): { code: number; stderr: string; report: Report } {
  const file = join(scratch, `audit-${Date.now()}.json`);
  const r = run('node', [CLI, 'audit', '--kubeconfig', KUBECONFIG, '-n', NS, '-o', `json=${file}`], { timeoutMs: 60_000 });
  return { code: r.code, stderr: r.stderr, report: JSON.parse(readFileSync(file, 'utf8')) as Report };
}

const ANP_ALLOW_INTERNET = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: ev-test-allow-internet
spec:
  priority: 10
  subject:
    namespaces:
      matchLabels:
        kubernetes.io/metadata.name: ${NS}
  egress:
    - name: all-out
      action: Allow
      to:
        - networks: ["0.0.0.0/0"]
`;

const CILIUM_WORLD = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: ev-test-world
  namespace: ${NS}
spec:
  endpointSelector:
    matchLabels:
      role: agent-workload
  egress:
    - toEntities: [world]
`;

t.test('every policy kind of the registry is served by the lab API server', async (t) => {
  const crds = kc(['get', 'crd', '-o', 'jsonpath={.items[*].metadata.name}']).split(' ');
  for (const name of [
    'adminnetworkpolicies.policy.networking.k8s.io',
    'baselineadminnetworkpolicies.policy.networking.k8s.io',
    'clusternetworkpolicies.policy.networking.k8s.io',
    'ciliumnetworkpolicies.cilium.io',
    'ciliumclusterwidenetworkpolicies.cilium.io',
    'networkpolicies.projectcalico.org',
    'globalnetworkpolicies.projectcalico.org',
    'networkpolicies.crd.projectcalico.org',
    'globalnetworkpolicies.crd.projectcalico.org',
  ])
    t.ok(crds.includes(name), name);
});

t.test("the live audit fails the issue's two examples, naming kind, object and rule", async (t) => {
  withObjects(t, `${ANP_ALLOW_INTERNET}---\n${CILIUM_WORLD}`);
  const r = audit();
  t.equal(r.code, 1, r.stderr);
  const found = (r.report.findings ?? []).map((f) => `${f.ruleId} ${f.object.kind}/${f.object.name}: ${f.message}`);
  t.match(found.join('\n'), /cluster-policy-allows-internet AdminNetworkPolicy\/ev-test-allow-internet: .*rule all-out .*data-processor/);
  t.match(found.join('\n'), /cni-policy-allows-internet CiliumNetworkPolicy\/ev-test-world: .*egress\[0\].*toEntities world/);
});

t.test('the identity proof covers Calico policies: one that selects the live pod only stops the run', async (t) => {
  // pod-template-hash is on every pod a Deployment makes and never on a probe (it is dropped on purpose).
  withObjects(
    t,
    `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: ev-test-hash
  namespace: ${NS}
spec:
  selector: role == 'agent-workload' && has(pod-template-hash)
  types: [Egress]
  egress:
    - action: Deny
`,
  );
  const r = run('node', [CLI, ...LAB_RUN_ARGS, '-n', NS, '--workload', 'deployment/data-processor'], { timeoutMs: 120_000 });
  t.equal(r.code, 2, r.stderr);
  t.match(r.stderr, /probe identity differs from pod data-processor-.*NetworkPolicy\.projectcalico\.org\/v3\/ev-test-hash/);
  t.equal(r.stderr.trim().split('\n').length, 1);
  t.same(kc(['-n', NS, 'get', 'pods', '-l', 'egress-verify.dev/run', '-o', 'name']).trim(), '', 'no probe pod was created');
});

t.test('a kind the run may not list is a warning that names it; what it read is in the report', async (t) => {
  installController();
  // The Role of manifests/rbac.yaml without its ClusterRole: the cluster-scoped kinds are forbidden.
  const sa = 'ev-no-cluster-kinds';
  apply(kc(['-n', NS, 'create', 'serviceaccount', sa, '--dry-run=client', '-o', 'yaml']));
  apply(
    kc(['-n', NS, 'create', 'rolebinding', sa, '--role=egress-verify', `--serviceaccount=${NS}:${sa}`, '--dry-run=client', '-o', 'yaml']),
  );
  t.teardown(() => {
    kubectl(['-n', NS, 'delete', 'rolebinding,serviceaccount', sa, '--ignore-not-found']);
    kubectl(['delete', 'clusterrolebinding,clusterrole', 'egress-verify-policies', '--ignore-not-found']);
  });
  withObjects(t, `${ANP_ALLOW_INTERNET}---\n${CILIUM_WORLD}`);
  const token = kc(['-n', NS, 'create', 'token', sa, '--duration=10m']).trim();
  const config = load(readFileSync(KUBECONFIG, 'utf8')) as { users: { user: Record<string, string> }[] };
  for (const u of config.users) u.user = { token };
  const kubeconfig = join(scratch, 'no-cluster-kinds.kubeconfig');
  writeFileSync(kubeconfig, dump(config));
  const reportFile = join(scratch, 'run.json');
  // The namespaced Role reads no Secret: the CA comes as the controller Job mounts it, a file.
  const caFile = join(scratch, 'companion-ca.pem');
  writeFileSync(caFile, companionCaCert());
  const args = LAB_RUN_ARGS.map((a) => (a === KUBECONFIG ? kubeconfig : a === 'secret/guardian-tls-ca:ca.pem' ? caFile : a));
  const r = run(
    'node',
    [CLI, ...args, '-n', NS, '--workload', 'deployment/data-processor', '--start-timeout', '60', '-o', `json=${reportFile}`],
    {
      timeoutMs: 240_000,
    },
  );
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
  // Stored, not enforced: the probes pass; the audit explains what the Cilium policy would open.
  t.equal(r.code, 0, r.stderr);
  const warnings = (report.warnings ?? []).join('\n');
  for (const kind of ['AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'ClusterNetworkPolicy', 'CiliumClusterwideNetworkPolicy'])
    t.match(warnings, new RegExp(`${kind} \\(\\S+\\) is served but listing it is forbidden`), kind);
  const kinds = (report.subject?.networkPolicies ?? []).map((p) => `${p.kind}/${p.name}`);
  t.ok(kinds.includes('CiliumNetworkPolicy/ev-test-world'), kinds.join(', '));
  t.ok(kinds.includes('NetworkPolicy/restrict-workload-egress'));
  t.notOk(
    kinds.some((k) => k.startsWith('AdminNetworkPolicy/')),
    'nothing is claimed about a kind that was not read',
  );
  t.ok(report.findings?.some((f) => f.ruleId === 'cni-policy-allows-internet'));
});
