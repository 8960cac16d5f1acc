/**
 * Label selector semantics as the API server applies them (matchLabels AND matchExpressions),
 * and which NetworkPolicies select a set of pod labels. Pure.
 */
import type { V1LabelSelector, V1NetworkPolicy } from '@kubernetes/client-node';

export type Labels = Readonly<Record<string, string>>;

/** An absent selector selects nothing; an empty one ({}) selects everything. */
export function matchesSelector(selector: V1LabelSelector | undefined, labels: Labels): boolean {
  if (selector === undefined) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || value === undefined || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (has && value !== undefined && values.includes(value)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        // An operator the API server would have rejected: select nothing rather than guess.
        return false;
    }
  }
  return true;
}

/** Egress applies when listed in policyTypes, or (policyTypes unset) when egress rules exist. */
export function isEgressPolicy(policy: V1NetworkPolicy): boolean {
  const types = policy.spec?.policyTypes;
  if (types !== undefined && types.length > 0) return types.includes('Egress');
  return (policy.spec?.egress?.length ?? 0) > 0;
}

export function egressPoliciesSelecting(policies: readonly V1NetworkPolicy[], labels: Labels): string[] {
  return policies
    .filter((p) => isEgressPolicy(p) && matchesSelector(p.spec?.podSelector ?? {}, labels))
    .map((p) => p.metadata?.name ?? '?')
    .sort();
}

/** "a=b,c=d" (equality terms only, as kubectl -l accepts for the common case). */
export function parseSelector(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const term of text.split(',').map((s) => s.trim())) {
    const m = /^([A-Za-z0-9./_-]+)==?([A-Za-z0-9._-]*)$/.exec(term);
    if (m?.[1] === undefined || m[2] === undefined) throw new Error(`unsupported selector term "${term}" (use key=value[,key=value])`);
    out[m[1]] = m[2];
  }
  return out;
}

export const selectorString = (labels: Labels): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
