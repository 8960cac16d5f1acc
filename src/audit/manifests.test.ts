import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { cli } from '../../test/cli.js';
import { UsageError } from '../base/errors.js';
import { MAX_INPUT_BYTES } from '../base/input.js';
import { auditObjects } from './audit.js';
import { RULES } from './catalogue.js';
import { parseManifests, readManifests } from './manifests.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
// The CLI tests start the binary several times: on a loaded shared machine that takes minutes.
t.setTimeout(900_000);
const where = (text: string, file = 'm.yaml') => parseManifests(file, text).objects.map((o) => `${o.kind}/${o.name}@${o.location.line}`);

t.test('multi-document YAML: each object keeps its first line; empty documents and comments are skipped', async (t) => {
  const text = [
    '# head',
    '---',
    'apiVersion: v1',
    'kind: Service',
    'metadata: {name: a}',
    '---',
    '---',
    '',
    '# c',
    'kind: Pod',
    'metadata:',
    '  name: b',
  ].join('\n');
  t.same(where(text), ['Service/a@3', 'Pod/b@10']);
});

t.test('List kinds: every item, at its own line', async (t) => {
  const text = [
    'apiVersion: v1',
    'kind: List',
    'items:',
    '  - kind: Service',
    '    metadata: {name: a}',
    '  - {kind: Pod, metadata: {name: b}}',
  ].join('\n');
  t.same(where(text), ['Service/a@4', 'Pod/b@6']);
  t.same(where(text.replace('kind: List', 'kind: ServiceList')), ['Service/a@4', 'Pod/b@6']);
});

t.test('JSON, as kubectl get -o json writes it', async (t) => {
  const text = JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { kind: 'Service', metadata: { name: 'a' } },
        { kind: 'Pod', metadata: { name: 'b' } },
      ],
    },
    null,
    2,
  );
  t.same(where(text, 'm.json'), ['Service/a@5', 'Pod/b@11']);
});

t.test('YAML 1.1 numbers, as kubectl reads them: 0640 is octal', async (t) => {
  const [o] = parseManifests('m.yaml', 'kind: Pod\nmetadata: {name: p}\nspec: {mode: 0640}\n').objects;
  t.equal((o?.body.spec as { mode: number } | undefined)?.mode, 0o640);
});

t.test('malformed YAML: a usage error naming file:line, never a file silently skipped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ev-audit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a-bad.yaml'), 'kind: Pod\nmetadata:\n  name: [unclosed\n  x: 1\n');
  writeFileSync(join(dir, 'b-good.yml'), 'kind: Pod\nmetadata: {name: ok}\n');
  writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
  t.throws(() => readManifests([dir]), {
    name: 'UsageError',
    message: `${join(dir, 'a-bad.yaml')}:4: not valid YAML (deficient indentation)`,
  });
  t.throws(() => readManifests(['-'], () => '{"kind": "Pod",\n'), { name: 'UsageError', message: /^stdin:\d+: not valid YAML/ });
});

t.test('a stream is parsed a document at a time: lines and errors stay those of the whole file', async (t) => {
  const pod = (name: string): string => `kind: Pod\nmetadata:\n  name: ${name}\nspec: {containers: [{name: c, image: i}]}\n`;
  const text = `${pod('a')}---\n${pod('b')}...\n# c\n---\nkind: List\nitems:\n  - ${pod('c').replaceAll('\n', '\n    ').trimEnd()}\n`;
  t.same(where(text), ['Pod/a@1', 'Pod/b@6', 'Pod/c@15']);
  t.throws(() => parseManifests('m.yaml', `${pod('a')}---\n${pod('b')}---\nkind: Pod\nmetadata:\n  name: [unclosed\n  x: 1\n`), {
    message: 'm.yaml:14: not valid YAML (deficient indentation)',
  });
  // A template's later document fails to parse: the objects of its earlier ones go with it.
  t.same(parseManifests('t.yaml', `${pod('a')}---\nmetadata:\n  name: {{ .x }}\n  {{- end }}\n`), {
    objects: [],
    warnings: [],
    notes: ['t.yaml: a template ({{ }}), not a manifest; skipped'],
  });
});

t.test('only what the rules read is kept: status, managedFields, last-applied copies and the data of unread kinds go', async (t) => {
  const text = [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: d',
    '  managedFields: [{manager: kubectl}]',
    '  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}", team: a}',
    'spec: {template: {metadata: {labels: {app: d}}, spec: {containers: [{name: c, image: i}]}}}',
    'status: {replicas: 1}',
    '---',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata: {name: big, namespace: ns, labels: {a: b}}',
    'data: {blob: xxxxxxxx}',
  ].join('\n');
  const [deployment, configMap] = parseManifests('m.yaml', text).objects;
  t.same(deployment?.body, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd', annotations: { team: 'a' } },
    spec: { template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
  });
  t.same(configMap?.body, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big', namespace: 'ns' } });
});

t.test('documents without kind are notes, objects without a name warnings; unknown kinds are kept and ignored by the rules', async (t) => {
  const set = parseManifests('m.yaml', 'kind: Widget\nmetadata: {name: w}\n---\nfoo: bar\n---\n- 1\n');
  t.same(
    set.objects.map((o) => o.kind),
    ['Widget'],
  );
  t.same(set.warnings, []);
  t.same(set.notes, [
    'm.yaml:4: a document without kind, not a Kubernetes object; skipped',
    'm.yaml:6: a list, not a Kubernetes object (a patch?); skipped',
  ]);
  t.same(parseManifests('m.yaml', 'metadata: {name: x}\nkind: Pod\n---\nkind: Pod\nmetadata: {}\n').warnings, [
    'm.yaml:4: an object without kind or metadata.name; ignored',
  ]);
});

t.test('a missing file and a file over the size limit are usage errors', async (t) => {
  t.throws(() => readManifests(['/nonexistent/x.yaml']), UsageError);
  const dir = mkdtempSync(join(tmpdir(), 'ev-audit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const big = join(dir, 'big.yaml');
  writeFileSync(big, '');
  truncateSync(big, MAX_INPUT_BYTES + 1);
  t.throws(() => readManifests([big]), { message: /over 52428800 bytes; refused/ });
});

t.test('CLI: manifests on stdin (-f -), exit code from the findings', async (t) => {
  const broken = cli(['audit', '-f', '-', '-o', 'json'], {
    input: readFileSync(join(root, 'test/fixtures/audit/broken/wide-egress.yaml'), 'utf8'),
  });
  t.equal(broken.status, 1, broken.stderr);
  const report = JSON.parse(broken.stdout) as { verdict: string; findings: { ruleId: string; location: { file: string; line: number } }[] };
  t.equal(report.verdict, 'fail');
  t.same(
    report.findings.filter((f) => f.ruleId === 'wide-egress').map((f) => f.location),
    [{ file: '-', line: 102 }],
  );
  t.equal(
    cli(['audit', '-f', '-', '--fail-on', 'critical'], {
      input: readFileSync(join(root, 'test/fixtures/audit/broken/dns-egress-missing.yaml'), 'utf8'),
    }).status,
    0,
  );
  const good = cli(['audit', '-f', 'test/fixtures/audit/good']);
  t.equal(good.status, 0, good.stderr);
  t.match(good.stdout, new RegExp(`^TAP version 14\n1\\.\\.${RULES.length}\n`), 'a test point per rule');
});

t.test('CLI: malformed input is a one-line usage error naming file and line; bad flags are usage errors', async (t) => {
  const bad = cli(['audit', '-f', '-'], { input: 'kind: [\n' });
  t.equal(bad.status, 2, bad.stderr);
  t.equal(bad.stdout, '');
  t.match(bad.stderr, /^egress-verify: stdin:2: not valid YAML \(.*\)\n$/);
  t.equal(cli(['audit']).status, 2);
  t.equal(cli(['audit', '-f', '-', '--fail-on', 'low']).status, 2);
  t.equal(cli(['audit', '-f', '-', '-o', 'pdf']).status, 2);
});

t.test('CLI: an audit of nothing is inconclusive (exit 3), never a pass', async (t) => {
  // issue 10: each of these printed PASS and exited 0. (What counts as nothing: audit.test.ts.)
  const dir = mkdtempSync(join(tmpdir(), 'ev-audit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  // `kustomize build | audit -f -` when kustomize prints nothing, and an empty directory (one
  // process for both: the CLI's start-up is most of this file's time); every rendering says so.
  const r = cli(['audit', '-f', '-', '-f', empty, '-o', 'tap', '-o', `json=${dir}/r.json`, '-o', `junit=${dir}/r.xml`]);
  t.equal(r.status, 3, r.stderr);
  t.match(
    r.stdout,
    /^TAP version 14\n# warning: nothing to audit: .* in stdin, \S+ .*\n1\.\.1\nnot ok 1 - nothing to audit\n# verdict: inconclusive\n$/,
  );
  t.match(JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')), {
    verdict: 'inconclusive',
    objectsRead: 0,
    warnings: [`nothing to audit: no workload, Service or NetworkPolicy in stdin, ${empty} (0 other object(s) read)`],
  });
  t.match(readFileSync(join(dir, 'r.xml'), 'utf8'), /<failure type="inconclusive" message="nothing to audit: /);
});

t.test('files that are no Kubernetes objects are skipped with a note: kustomize, patches, Helm', async (t) => {
  const kustomization = parseManifests(
    'kustomization.yaml',
    'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n',
  );
  t.same(kustomization, { objects: [], warnings: [], notes: ['kustomization.yaml:1: a kustomize file, not a Kubernetes object; skipped'] });
  const template = parseManifests('templates/job.yaml', 'metadata:\n  name: {{ include "x" . }}\n  {{- with .Values.labels }}\n');
  t.same(template, { objects: [], warnings: [], notes: ['templates/job.yaml: a template ({{ }}), not a manifest; skipped'] });
  t.same(parseManifests('Chart.yaml', 'apiVersion: v2\nname: x\nversion: 0.1.0\n').notes, [
    'Chart.yaml:1: a document without kind, not a Kubernetes object; skipped',
  ]);
});

t.test("the project's own manifests pass its audit, without warnings", async (t) => {
  const set = readManifests([join(root, 'manifests')]);
  t.same(set.warnings, []);
  t.ok(
    set.notes.some((n) => n.includes('kustomization.yaml')),
    'kustomization.yaml is noted',
  );
  const own = auditObjects(set.objects.filter((o) => !o.location.file.includes('/reference/')));
  t.same(
    own.map((f) => `${f.ruleId} ${f.object.kind}/${f.object.name}`),
    [],
    "no finding on what egress-verify ships (manifests/reference is the article's example, audited elsewhere)",
  );
});
