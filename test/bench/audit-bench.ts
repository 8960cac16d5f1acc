/**
 * Benchmark: `audit` over generated manifests — 1,000 namespaces each holding the article's
 * architecture plus a few extra workloads (10,000 objects in all). Prints parse and rule time per
 * thousand objects; the target is well under a second per thousand. Asserts nothing.
 * Run: npm run bench:audit
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { auditObjects } from '../../src/audit/audit.js';
import { parseManifests } from '../../src/audit/manifests.js';

const OBJECTS = 10_000;
const root = fileURLToPath(new URL('../..', import.meta.url));
const reference = ['00-namespace.yaml', '10-egress-guardian.yaml', '20-network-policies.yaml', '30-data-processor.yaml']
  .map((f) => readFileSync(join(root, 'manifests/reference', f), 'utf8'))
  .join('\n---\n');
const extra = readFileSync(join(root, 'test/fixtures/audit/broken/companion-shared-identity.yaml'), 'utf8').split('\n---\n').at(-1) ?? '';

// 6 reference objects + 4 extra workloads = 10 objects per namespace.
const namespaces: string[] = [];
for (let i = 0; namespaces.length * 10 < OBJECTS; i++) {
  const docs = [reference, ...[1, 2, 3, 4].map((n) => extra.replace('name: invoice-agent', `name: agent-${n}`))].join('\n---\n');
  namespaces.push(docs.replaceAll('production-agents', `agents-${i}`));
}
const text = namespaces.join('\n---\n');

for (let run = 1; run <= 3; run++) {
  const t0 = performance.now();
  const set = parseManifests('bench.yaml', text);
  const t1 = performance.now();
  const findings = auditObjects(set.objects);
  const t2 = performance.now();
  const perThousand = ((t2 - t0) / set.objects.length) * 1000;
  console.log(
    `run ${run}: ${set.objects.length} objects (${(text.length / 1e6).toFixed(1)} MB), parse ${(t1 - t0).toFixed(0)} ms, rules ${(t2 - t1).toFixed(0)} ms, ` +
      `${findings.length} findings; ${perThousand.toFixed(1)} ms per 1000 objects`,
  );
}
