/**
 * Whether a list of RBAC rules grants a permission preflight asks for: the shipped manifests
 * and the Helm chart are checked against the same lists preflight checks in a live cluster.
 */
import type { V1PolicyRule } from '@kubernetes/client-node';
import type { Permission } from '../src/controller/preflight.js';

export function grants(rules: readonly V1PolicyRule[], p: Permission): boolean {
  const resource = p.subresource ? `${p.resource}/${p.subresource}` : p.resource;
  return rules.some(
    (r) =>
      (r.apiGroups ?? []).includes(p.group ?? '') &&
      (r.resources ?? []).includes(resource) &&
      r.verbs.includes(p.verb) &&
      (r.resourceNames === undefined || (p.name !== undefined && r.resourceNames.includes(p.name))),
  );
}

/** Rules that grant anything on Secrets, or any verb or resource by wildcard. */
export const tooWide = (rules: readonly V1PolicyRule[]): V1PolicyRule[] =>
  rules.filter(
    (r) => r.resources?.some((x) => x === 'secrets' || x === '*') || r.verbs.includes('*') || r.verbs.includes('deletecollection'),
  );
