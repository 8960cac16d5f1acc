import { readFileSync } from 'node:fs';
import type { V1PolicyRule } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import t from 'tap';
import { grants, tooWide } from '../../test/rbac.js';
import { POLICY_KIND_PERMISSIONS, RUN_PERMISSIONS, recordPermissions } from './preflight.js';

interface Doc {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: V1PolicyRule[];
  subjects?: { namespace: string }[];
}
const docs = loadAll(readFileSync(new URL('../../manifests/rbac.yaml', import.meta.url), 'utf8')) as Doc[];

t.test('manifests/rbac.yaml grants what preflight checks in the tested namespace, and no Secret', async (t) => {
  const role = docs.find((d) => d.kind === 'Role');
  t.equal(role?.metadata.namespace, 'production-agents');
  const rules = role?.rules ?? [];
  for (const p of [...RUN_PERMISSIONS, ...recordPermissions('egress-verify-deployment-data-processor')])
    t.ok(grants(rules, p), `${p.verb} ${p.resource}${p.name ? ` ${p.name}` : ''}`);
  t.same(tooWide(rules), [], 'no Secret, no wildcard, no deletecollection');
});

t.test('the controller identity lives in its own namespace, bound into the tested one', async (t) => {
  t.equal(docs.find((d) => d.kind === 'ServiceAccount')?.metadata.namespace, 'egress-verify-system');
  t.same(
    docs.find((d) => d.kind === 'RoleBinding')?.subjects?.map((s) => s.namespace),
    ['egress-verify-system'],
  );
});

t.test('manifests/rbac.yaml lets a run list every other policy kind, read-only, each in its scope', async (t) => {
  const rulesOf = (kind: string): V1PolicyRule[] => docs.filter((d) => d.kind === kind).flatMap((d) => d.rules ?? []);
  t.ok(POLICY_KIND_PERMISSIONS.length > 0);
  for (const p of POLICY_KIND_PERMISSIONS)
    t.ok(grants(rulesOf(p.cluster ? 'ClusterRole' : 'Role'), p), `${p.cluster ? 'ClusterRole' : 'Role'}: list ${p.resource}.${p.group}`);
  const policies = docs.find((d) => d.kind === 'ClusterRole' && d.metadata.name === 'egress-verify-policies');
  t.same([...new Set((policies?.rules ?? []).flatMap((r) => r.verbs))], ['list'], 'the cluster-wide grant is read-only');
});
