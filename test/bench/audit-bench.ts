/**
 * Benchmark: `audit` over generated manifests — 1,000 namespaces each holding the article's
 * architecture plus a few extra workloads (10,000 objects in all). Prints parse and rule time per
 * thousand objects; the target is well under a second per thousand. Then the built CLI audits a
 * generated ~49 MB manifest (about 77,000 Deployments, under the 50 MiB input limit) and prints
 * its peak RSS and wall time. Asserts nothing.
 * Run: npm run bench:audit
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** One Deployment of about 630 bytes, as a large rendered chart writes them. */
const deployment = (i: number): string => {
  const ns = `team-${Math.floor(i / 100)}`;
  return `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-${i}
  namespace: ${ns}
  labels: {app: app-${i}, team: ${ns}}
spec:
  replicas: 2
  selector:
    matchLabels: {app: app-${i}}
  template:
    metadata:
      labels: {app: app-${i}, team: ${ns}}
    spec:
      containers:
        - name: app
          image: registry.example/app:1.2.3
          ports: [{containerPort: 8080, name: http}]
          env:
            - {name: HTTPS_PROXY, value: "http://egress-guardian-svc:8080"}
            - {name: NO_PROXY, value: ".cluster.local,.svc,localhost"}
          resources: {requests: {cpu: 100m, memory: 128Mi}}
`;
};

const BIG_BYTES = 49_000_000;
const scratch = mkdtempSync(join(tmpdir(), 'ev-audit-bench-'));
try {
  const big = join(scratch, 'big.yaml');
  const docs: string[] = [];
  for (let bytes = 0; bytes < BIG_BYTES; ) {
    const doc = deployment(docs.length);
    docs.push(doc);
    bytes += doc.length;
  }
  writeFileSync(big, docs.join(''));
  // The process's own peak, printed as it exits: no external time(1) needed.
  const peak = `data:text/javascript,process.on('exit',()=>process.stderr.write('maxrss '+process.resourceUsage().maxRSS+'\\n'))`;
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    ['--import', peak, join(root, 'dist/src/cli.js'), 'audit', '-f', big, '-o', `json=${join(scratch, 'report.json')}`],
    {
      encoding: 'utf8',
      env: { ...process.env, EGRESS_VERIFY_LOG_LEVEL: 'silent' },
      timeout: 1_800_000,
    },
  );
  const seconds = (performance.now() - t0) / 1000;
  const kib = Number(/maxrss (\d+)/.exec(r.stderr)?.[1] ?? Number.NaN);
  console.log(
    `cli audit -f big.yaml: ${docs.length} Deployments (${(BIG_BYTES / 1e6).toFixed(0)} MB), exit ${r.status}, ` +
      `peak RSS ${Math.round(kib / 1024)} MiB, ${seconds.toFixed(0)} s`,
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
