import type { V1NetworkPolicy } from '@kubernetes/client-node';
import t from 'tap';
import { egressPoliciesSelecting, isEgressPolicy, matchesSelector, parseLabelSelector } from './selector.js';

const pod = { role: 'agent-workload', app: 'data-processor', tier: 'batch' };

t.test('matchLabels and matchExpressions, with the API server semantics', async (t) => {
  t.ok(matchesSelector({}, pod), 'empty selects all');
  t.notOk(matchesSelector(undefined, pod), 'absent selects nothing');
  t.ok(matchesSelector({ matchLabels: { role: 'agent-workload' } }, pod));
  t.notOk(matchesSelector({ matchLabels: { role: 'agent-workloads' } }, pod), 'a typo selects nothing');
  t.ok(matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['batch', 'web'] }] }, pod));
  t.notOk(matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['batch'] }] }, pod));
  t.ok(matchesSelector({ matchExpressions: [{ key: 'missing', operator: 'NotIn', values: ['x'] }] }, pod), 'NotIn matches a missing key');
  t.ok(matchesSelector({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, pod));
  t.notOk(matchesSelector({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, pod));
  t.notOk(
    matchesSelector({ matchLabels: { role: 'agent-workload' }, matchExpressions: [{ key: 'x', operator: 'Exists' }] }, pod),
    'terms are ANDed',
  );
  t.notOk(matchesSelector({ matchExpressions: [{ key: 'app', operator: 'Bogus' }] }, pod));
});

t.test('which egress policies select a pod', async (t) => {
  const policy = (name: string, spec: V1NetworkPolicy['spec']): V1NetworkPolicy => ({ metadata: { name }, spec });
  const policies = [
    policy('restrict', { podSelector: { matchLabels: { role: 'agent-workload' } }, policyTypes: ['Egress'] }),
    policy('ingress-only', { podSelector: {}, policyTypes: ['Ingress'] }),
    policy('implicit-egress', { podSelector: {}, egress: [{}] }),
    policy('other', { podSelector: { matchLabels: { app: 'egress-guardian' } }, policyTypes: ['Egress'] }),
  ];
  t.notOk(isEgressPolicy(policies[1] as V1NetworkPolicy));
  t.same(egressPoliciesSelecting(policies, pod), ['implicit-egress', 'restrict']);
});

t.test('selector strings, as kubectl -l reads them', async (t) => {
  const matches = (text: string): boolean => matchesSelector(parseLabelSelector(text), pod);
  t.ok(matches('role=agent-workload, app==data-processor'));
  t.notOk(matches('role=agent-workload,app=other'));
  t.ok(matches('tier in (batch, web),app'));
  t.notOk(matches('tier notin (batch)'));
  t.ok(matches('role!=web,!missing'));
  t.notOk(matches('!app'));
  t.same(parseLabelSelector('x='), { matchLabels: { x: '' }, matchExpressions: [] }, 'an empty value is a value');
  for (const bad of ['', 'role==a=b', 'role in (a', 'role in (a b)', 'a,,b', '=x', 'role=(x)'])
    t.throws(() => parseLabelSelector(bad), /selector/, `rejects "${bad}"`);
});
