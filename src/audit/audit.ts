/**
 * The offline audit: manifests → inventory → every rule → findings, sorted by where they are.
 * Pure; reading files is manifests.ts's job.
 */
import type { AuditFinding } from '../report/report.js';
import { RULES } from './catalogue.js';
import { buildInventory } from './inventory.js';
import type { ManifestObject } from './manifests.js';
import { RULE_CHECKS } from './rules.js';

export function auditObjects(objects: readonly ManifestObject[]): AuditFinding[] {
  const inventory = buildInventory(objects);
  const findings: AuditFinding[] = [];
  for (const rule of RULES) {
    for (const hit of RULE_CHECKS[rule.id](inventory)) {
      const o = hit.subject;
      findings.push({
        ruleId: rule.id,
        severity: rule.severity,
        message: hit.message,
        fix: rule.fix,
        object: { kind: o.kind, ...(o.namespace !== undefined && { namespace: o.namespace }), name: o.name },
        location: { file: o.location.file, line: o.location.line },
      });
    }
  }
  return findings.sort(
    (a, b) =>
      (a.location?.file ?? '').localeCompare(b.location?.file ?? '') ||
      (a.location?.line ?? 0) - (b.location?.line ?? 0) ||
      a.ruleId.localeCompare(b.ruleId),
  );
}
