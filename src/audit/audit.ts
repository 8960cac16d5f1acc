/**
 * The offline audit: manifests → inventory → every rule → findings, sorted by where they are.
 * Pure; reading files is manifests.ts's job.
 */
import { createHash } from 'node:crypto';
import { RULES } from './catalogue.js';
import type { AuditFinding } from './finding.js';
import { buildInventory, type Sanction } from './inventory.js';
import type { ManifestObject, SourceLocation } from './manifests.js';
import { RULE_CHECKS } from './rules.js';

/** Which object the API server would store: another apiVersion of the same group is the same object. */
const identity = (o: ManifestObject): string => {
  const group = o.apiVersion.includes('/') ? o.apiVersion.slice(0, o.apiVersion.lastIndexOf('/')) : '';
  return `${group} ${o.kind} ${o.namespace ?? ''} ${o.name}`;
};

/**
 * A digest of the JSON with sorted keys: two copies of one object are equal however their keys
 * were ordered. A digest, not the JSON, so that a large manifest is not held twice.
 */
const canonical = (value: unknown): string =>
  createHash('sha256')
    .update(
      JSON.stringify(value, (_k, v: unknown) =>
        v !== null && typeof v === 'object' && !Array.isArray(v)
          ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
          : v,
      ),
    )
    .digest('base64');

const where = (l: SourceLocation): string => `${l.file}:${l.line}`;

/**
 * The same object written in several files (a chart rendered next to its source, a copied base)
 * is one object: audited once, with where every copy is. Objects of one identity that differ are
 * each audited.
 */
export function distinctObjects(objects: readonly ManifestObject[]): { object: ManifestObject; copies: SourceLocation[] }[] {
  const byContent = new Map<string, { object: ManifestObject; copies: SourceLocation[] }>();
  for (const o of objects) {
    const key = `${identity(o)} ${canonical(o.body)}`;
    const seen = byContent.get(key);
    if (seen) seen.copies.push(o.location);
    else byContent.set(key, { object: o, copies: [o.location] });
  }
  return [...byContent.values()];
}

/** `sanctions`: the catalogue's exceptions as of today (sanction.ts); a hole none covers stays a finding. */
export function auditObjects(objects: readonly ManifestObject[], sanctions: readonly Sanction[] = []): AuditFinding[] {
  const distinct = distinctObjects(objects);
  const copies = new Map(distinct.map((d) => [where(d.object.location), d.copies]));
  const inventory = buildInventory(
    distinct.map((d) => d.object),
    sanctions,
  );
  // What one rule says of one object is one finding, however many files (or differing copies) say it.
  const findings = new Map<string, { finding: AuditFinding; at: SourceLocation[] }>();
  for (const rule of RULES) {
    for (const hit of RULE_CHECKS[rule.id](inventory)) {
      const o = hit.subject;
      const at = copies.get(where(o.location)) ?? [o.location];
      const key = `${rule.id} ${identity(o)} ${hit.message}`;
      const seen = findings.get(key);
      if (seen) {
        seen.at.push(...at);
        continue;
      }
      const finding: AuditFinding = {
        ruleId: rule.id,
        severity: rule.severity,
        message: hit.message,
        fix: rule.fix,
        object: { kind: o.kind, ...(o.namespace !== undefined && { namespace: o.namespace }), name: o.name },
      };
      findings.set(key, { finding, at: [...at] });
    }
  }
  return [...findings.values()]
    .map(({ finding, at }) => {
      const [first, ...rest] = [...new Map(at.map((l) => [where(l), l])).values()].sort(
        (a, b) => a.file.localeCompare(b.file) || a.line - b.line,
      );
      return { ...finding, ...(first && { location: first }), ...(rest.length > 0 && { alsoAt: rest }) };
    })
    .sort(
      (a, b) =>
        (a.location?.file ?? '').localeCompare(b.location?.file ?? '') ||
        (a.location?.line ?? 0) - (b.location?.line ?? 0) ||
        a.ruleId.localeCompare(b.ruleId),
    );
}
