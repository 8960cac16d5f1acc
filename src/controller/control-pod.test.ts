import type { V1LabelSelector } from '@kubernetes/client-node';
import t from 'tap';
import type { PolicyRead } from '../kube/policies.js';
import { POLICY_KINDS, type PolicyKind } from '../kube/policy-kinds.js';
import { buildControlPod, checkControlIdentity, ROLE_LABEL } from './control-pod.js';
import { NEVER_READY_GATE, RUN_LABEL } from './probe-pod.js';

const input = {
  runId: 'r1',
  index: 0,
  image: 'localhost/egress-verify:dev',
  imagePullPolicy: 'Never' as const,
  planKey: 'plan-0.json',
  runObject: { name: 'egress-verify-run-r1-control', uid: 'u' },
  activeDeadlineSeconds: 120,
  settleMs: 2000,
  pathWaitMs: 20_000,
};

t.test('the control pod is a restricted probe pod with an identity of its own', async (t) => {
  const pod = buildControlPod({ ...input, namespace: 'egress-verify-control' });
  t.equal(pod.metadata?.name, 'egress-verify-r1-control-0');
  t.equal(pod.metadata?.namespace, 'egress-verify-control');
  t.same(pod.metadata?.labels, { 'app.kubernetes.io/managed-by': 'egress-verify', [ROLE_LABEL]: 'control', [RUN_LABEL]: 'r1' });
  t.match(pod.metadata?.ownerReferences, [{ kind: 'ConfigMap', name: 'egress-verify-run-r1-control', controller: true }]);
  t.match(pod.spec?.volumes, [{ configMap: { name: 'egress-verify-run-r1-control', items: [{ key: 'plan-0.json' }] } }]);
  t.equal(pod.spec?.automountServiceAccountToken, false);
  t.notOk(pod.spec?.serviceAccountName, "the namespace's default account, and no token");
  t.match(pod.spec?.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  t.match(pod.spec?.containers[0]?.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  t.same(pod.spec?.readinessGates, [{ conditionType: NEVER_READY_GATE }]);
  t.notOk(
    pod.spec?.containers[0]?.env?.some((e) => /proxy/i.test(e.name)),
    'no proxy environment: it dials directly',
  );
});

const read = (...policies: [string, V1LabelSelector][]): PolicyRead => ({
  policies: policies.map(([name, podSelector]) => ({
    kind: POLICY_KINDS[0] as PolicyKind,
    object: {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name },
      spec: { podSelector, policyTypes: ['Egress'] },
    },
  })),
  namespaceLabels: { 'kubernetes.io/metadata.name': 'apps' },
  warnings: [],
});

t.test('a default-deny over the control namespace is named in a warning', async (t) => {
  const warnings: string[] = [];
  t.same(checkControlIdentity(read(['default-deny', {}]), 'apps', warnings), ['NetworkPolicy/default-deny']);
  t.match(warnings, [/default-deny.* select the control pod: only what it reaches proves anything/]);
  const quiet: string[] = [];
  t.same(checkControlIdentity(read(['agents', { matchLabels: { role: 'agent' } }]), 'apps', quiet), []);
  t.same(quiet, []);
});
