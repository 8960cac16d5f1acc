/**
 * Label selector semantics as the API server applies them (matchLabels AND matchExpressions),
 * and which NetworkPolicies select a set of pod labels. Pure.
 */
import type { V1LabelSelector, V1LabelSelectorRequirement, V1NetworkPolicy } from '@kubernetes/client-node';

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

/**
 * kubectl's -l syntax, equality- and set-based: `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
 * `k notin (a,b)`, `k`, `!k`, joined by commas. The result is evaluated with matchesSelector,
 * so the API server's list filter and our template filter are one semantics.
 */
export function parseLabelSelector(text: string): V1LabelSelector {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: V1LabelSelectorRequirement[] = [];
  // Commas inside "(a,b)" belong to the set, not to the list of terms.
  const terms = text.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  if (text.trim() === '' || terms.join(',').replace(/\s/g, '') !== text.replace(/\s/g, ''))
    throw new Error(`cannot parse selector "${text}"`);
  for (const raw of terms.map((s) => s.trim())) {
    const term = SELECTOR_TERMS.map((p) => p.exec(raw)).find((m) => m !== null)?.groups;
    const key = term?.key ?? '';
    const values = (term?.set ?? term?.value ?? '').split(',').map((v) => v.trim());
    if (term === undefined || values.some((v) => !LABEL_VALUE.test(v))) throw new Error(`cannot parse selector term "${raw}"`);
    if (term.not !== undefined) matchExpressions.push({ key, operator: 'DoesNotExist' });
    else if (term.op === '=' || term.op === '==') matchLabels[key] = values[0] ?? '';
    else if (term.op === '!=' || term.op === 'notin') matchExpressions.push({ key, operator: 'NotIn', values });
    else if (term.op === 'in') matchExpressions.push({ key, operator: 'In', values });
    else matchExpressions.push({ key, operator: 'Exists' });
  }
  return { matchLabels, matchExpressions };
}

const LABEL_VALUE = /^[A-Za-z0-9._-]*$/;
const SELECTOR_TERMS = [
  /^(?<key>[A-Za-z0-9][A-Za-z0-9._/-]*)\s*(?<op>==|=|!=)\s*(?<value>[^=!()\s]*)$/,
  /^(?<key>[A-Za-z0-9][A-Za-z0-9._/-]*)\s+(?<op>in|notin)\s*\((?<set>[^)]*)\)$/,
  /^(?<not>!)\s*(?<key>[A-Za-z0-9][A-Za-z0-9._/-]*)$/,
  /^(?<key>[A-Za-z0-9][A-Za-z0-9._/-]*)$/,
];

export const selectorString = (labels: Labels): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
