import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseCatalogue } from '../../probes/catalogue.js';
import { auditObjects } from './audit.js';
import { RULE_IDS, RULES } from './catalogue.js';
import { auditedCount, type Sanction, sanctionsAt } from './inventory.js';
import { type ManifestObject, parseManifests, readManifests } from './manifests.js';
import { RULE_CHECKS } from './rules.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = join(root, 'test/fixtures/audit');
const brokenDir = join(fixtures, 'broken');

const above = (severity: string): boolean => severity !== 'info';

t.test('the catalogue and the rule functions agree, and ids are unique', async (t) => {
  t.same(Object.keys(RULE_CHECKS).sort(), [...RULE_IDS].sort());
  t.equal(new Set(RULE_IDS).size, RULES.length);
});

t.test('good: the reference architecture has no finding above info', async (t) => {
  const set = readManifests([join(fixtures, 'good')]);
  t.same(set.warnings, []);
  const findings = auditObjects(set.objects);
  t.same(
    findings.filter((f) => above(f.severity)),
    [],
  );
  t.same(
    findings.map((f) => [f.ruleId, f.location?.file.replace(`${fixtures}/`, ''), f.location?.line]),
    [
      ['namespace-default-deny-missing', 'good/00-namespace.yaml', 5],
      ['companion-single-replica', 'good/10-egress-guardian.yaml', 17],
      ['companion-dns-excepted', 'good/20-network-policies.yaml', 7],
    ],
    'the three advisories of the article as written',
  );
  for (const file of readdirSync(join(fixtures, 'good')))
    t.equal(
      readFileSync(join(fixtures, 'good', file), 'utf8'),
      readFileSync(join(root, 'manifests/reference', file), 'utf8'),
      `${file} is the reference`,
    );
});

/** `# expect: RULE` marks the line before the object the rule must fire on. */
function expectations(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, i) => {
      const m = /^# expect: ([a-z][a-z0-9-]*)$/.exec(line);
      return m ? [`${m[1]}@${i + 2}`] : [];
    });
}

// A fixture's exceptions, when it has them, are in X.catalogue.yaml beside X.yaml.
const brokenFiles = readdirSync(brokenDir).filter((f) => f.endsWith('.yaml') && !f.endsWith('.catalogue.yaml'));
const FIXTURE_DAY = new Date('2026-06-01T00:00:00Z');
function fixtureSanctions(file: string): Sanction[] {
  const catalogue = join(brokenDir, file.replace(/\.yaml$/, '.catalogue.yaml'));
  if (!existsSync(catalogue)) return [];
  return sanctionsAt(parseCatalogue(readFileSync(catalogue, 'utf8'), catalogue).exceptions ?? [], FIXTURE_DAY);
}

t.test('every rule above info has a broken fixture', async (t) => {
  const covered = new Set(brokenFiles.flatMap((f) => expectations(join(brokenDir, f)).map((e) => e.split('@')[0])));
  for (const rule of RULES) if (rule.severity !== 'info') t.ok(covered.has(rule.id), `${rule.id} has a fixture`);
});

for (const file of brokenFiles) {
  t.test(`broken/${file}: the rule fires exactly where marked, nothing else above info`, async (t) => {
    const path = join(brokenDir, file);
    const set = readManifests([path]);
    t.same(set.warnings, []);
    const expected = expectations(path);
    t.ok(expected.length > 0, 'the fixture marks where its rule fires');
    const got = auditObjects(set.objects, fixtureSanctions(file))
      .filter((f) => above(f.severity))
      .map((f) => {
        t.equal(f.location?.file, path);
        t.ok(f.fix.length > 0 && f.message.length > 0);
        return `${f.ruleId}@${f.location?.line}`;
      });
    t.same(got, expected);
  });
}

/** An object as the live audit shapes it. */
const live = (kind: string, name: string, body: Record<string, unknown> = {}): ManifestObject => ({
  apiVersion: kind === 'EndpointSlice' ? 'discovery.k8s.io/v1' : 'v1',
  kind,
  name,
  namespace: 'production-agents',
  body: { kind, metadata: { name, namespace: 'production-agents' }, ...body },
  location: { file: `cluster:production-agents/${kind}/${name}`, line: 1 },
});

t.test('what counts as something to audit: workloads, Services, NetworkPolicies; an empty namespace is nothing', async (t) => {
  t.equal(auditedCount([live('Namespace', 'production-agents')]), 0, 'a live audit of an empty namespace');
  t.equal(auditedCount([live('ConfigMap', 'c'), live('EndpointSlice', 's')]), 0);
  t.equal(auditedCount(parseManifests('package.json', '{"name": "package", "version": "1.0.0"}').objects), 0, 'JSON, not Kubernetes');
  t.equal(auditedCount(readManifests([join(fixtures, 'good')]).objects), 5);
});

t.test('a companion scaled to 0 (EndpointSlice endpoints: null) is a finding, not a crash', async (t) => {
  const objects = readManifests([join(fixtures, 'good')]).objects;
  const slice = live('EndpointSlice', 'egress-guardian-svc-abcde', {
    metadata: { name: 'egress-guardian-svc-abcde', labels: { 'kubernetes.io/service-name': 'egress-guardian-svc' } },
    addressType: 'IPv4',
    endpoints: null,
  });
  t.match(
    auditObjects([...objects, slice]).filter((f) => f.ruleId === 'companion-no-ready-endpoints'),
    [{ object: { kind: 'Service', name: 'egress-guardian-svc' }, message: /no ready endpoint in 1 EndpointSlice/ }],
  );
});

t.test('the same object in several files is one finding with every location (issue 14: 19 copies gave 19 findings)', async (t) => {
  const text = readFileSync(join(brokenDir, 'wide-egress.yaml'), 'utf8');
  const copies = Array.from({ length: 19 }, (_, i) => parseManifests(`copy-${String(i).padStart(2, '0')}.yaml`, text).objects).flat();
  const once = auditObjects(parseManifests('copy-00.yaml', text).objects);
  const findings = auditObjects(copies);
  t.same(
    findings.map((f) => f.ruleId),
    once.map((f) => f.ruleId),
    'what one copy is found to have, once',
  );
  const wide = findings.find((f) => f.ruleId === 'wide-egress');
  t.same(wide?.location, { file: 'copy-00.yaml', line: 102 });
  t.same(
    wide?.alsoAt?.map((l) => l.file),
    Array.from({ length: 18 }, (_, i) => `copy-${String(i + 1).padStart(2, '0')}.yaml`),
  );
  // Two writings of one object that differ (an overlay's image) are both audited; what they share is one finding.
  const deployment = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: ns}
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec: {containers: [{name: c, image: ${image}}]}
`;
  const variants = auditObjects([
    ...parseManifests('base/app.yaml', deployment('app:1')).objects,
    ...parseManifests('overlay/app.yaml', deployment('app:2')).objects,
  ]);
  const unrestricted = variants.filter((f) => f.ruleId === 'unrestricted-workload');
  t.equal(unrestricted.length, 1);
  t.same(unrestricted[0]?.location, { file: 'base/app.yaml', line: 1 });
  t.same(unrestricted[0]?.alsoAt, [{ file: 'overlay/app.yaml', line: 1 }]);
});
