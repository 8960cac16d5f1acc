import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import t from 'tap';
import { Parser } from 'tap-parser';
import type { CheckResult } from '../../probes/base/model.js';
import { renderJunit } from '../report/junit.js';
import { reportValidator } from '../report/read.js';
import { buildAuditReport, buildReport } from '../report/report.js';
import { renderSarif } from '../report/sarif.js';
import { renderTap } from '../report/tap.js';
import { auditObjects } from './audit.js';
import { RULE_IDS, RULES } from './catalogue.js';
import { auditVerdict } from './finding.js';
import { readManifests } from './manifests.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const file = join(root, 'test/fixtures/audit/broken/wide-egress.yaml');
const findings = auditObjects(readManifests([file, join(root, 'test/fixtures/audit/good')]).objects);
const at = new Date('2026-11-27T00:00:00Z');
const report = buildAuditReport(RULE_IDS, findings, 'high', ['x.yaml:3: a document that is not an object; ignored'], at, at, 30);

const copied = {
  ...findings.find((f) => f.ruleId === 'wide-egress'),
  location: { file: 'x.yaml', line: 1 },
  alsoAt: [{ file: 'b/a.yaml', line: 7 }],
} as (typeof findings)[number];

t.test('verdict: fail at or above --fail-on; info and low never fail', async (t) => {
  t.equal(report.verdict, 'fail');
  const info = findings.filter((f) => f.severity === 'info');
  t.ok(info.length > 0);
  t.equal(auditVerdict(info, 'medium'), 'pass');
  t.equal(auditVerdict([{ ...findings[0], severity: 'low' } as (typeof findings)[number]], 'info'), 'pass');
  t.equal(auditVerdict(findings, 'critical'), 'fail', 'wide-egress is critical');
  t.equal(auditVerdict([], 'medium'), 'pass', 'an audit that finds nothing passes');
  t.match(report.summary, { total: RULES.length, fail: 1, pass: RULES.length - 1 });
});

t.test('the audit report matches the published report schema', async (t) => {
  const validate = reportValidator();
  t.ok(validate(JSON.parse(JSON.stringify(report))), JSON.stringify(validate.errors));
  t.notOk(validate({ ...report, failOn: 'severe' }));
});

/** The official SARIF 2.1.0 schema: @microsoft/jest-sarif ships the OASIS file (draft-04, "id"), read as draft-07. */
function sarifValidator() {
  const require = createRequire(import.meta.url);
  const schemaPath = join(require.resolve('@microsoft/jest-sarif/package.json'), '../lib/schemas/sarif-2.1.0-rtm.5.json');
  const { id, $schema: _draft, ...schema } = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  // unicodeRegExp off: the schema's "language" pattern has a stray "]" that only non-unicode
  // regular expressions accept, as draft-04 validators did.
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
  addFormats.default(ajv);
  return ajv.compile({ ...schema, $id: String(id) });
}

t.test('SARIF validates against the official SARIF 2.1.0 schema', async (t) => {
  const validate = sarifValidator();
  const sarif = JSON.parse(renderSarif(report)) as {
    runs: { tool: { driver: { rules: { id: string }[] } }; results: { ruleId: string; level: string; locations: unknown[] }[] }[];
  };
  t.ok(validate(sarif), JSON.stringify(validate.errors?.slice(0, 3)));
  const run = sarif.runs[0];
  t.equal(run?.tool.driver.rules.length, RULES.length);
  t.match(
    run?.results.find((r) => r.ruleId === 'wide-egress'),
    {
      level: 'error',
      locations: [{ physicalLocation: { artifactLocation: { uri: `file://${file}` }, region: { startLine: 102 } } }],
    },
  );
  t.match(
    run?.results.find((r) => r.ruleId === 'companion-single-replica'),
    { level: 'note' },
  );
  const stdin = buildAuditReport(
    RULE_IDS,
    [{ ...findings[0], location: { file: '-', line: 3 } } as (typeof findings)[number]],
    'high',
    [],
    at,
    at,
    30,
  );
  t.ok(validate(JSON.parse(renderSarif(stdin))), 'stdin findings validate too');
  // The same object in two files: one result, a location for each.
  const copies = buildAuditReport(RULE_IDS, [{ ...copied, location: { file: 'a.yaml', line: 3 } }], 'high', [], at, at, 30);
  const twice = JSON.parse(renderSarif(copies)) as typeof sarif;
  t.ok(validate(twice), JSON.stringify(validate.errors?.slice(0, 3)));
  t.match(twice.runs[0]?.results, [
    {
      locations: [
        { physicalLocation: { artifactLocation: { uri: 'a.yaml' }, region: { startLine: 3 } } },
        { physicalLocation: { artifactLocation: { uri: 'b/a.yaml' }, region: { startLine: 7 } } },
      ],
    },
  ]);
});

t.test('a finding for an object written in several files: every rendering names each copy', async (t) => {
  const copies = buildAuditReport(RULE_IDS, [copied], 'high', [], at, at, 30);
  const validate = reportValidator();
  t.ok(validate(JSON.parse(JSON.stringify(copies))), JSON.stringify(validate.errors));
  t.match(renderTap(copies), /\n {6}at: "x\.yaml:1"\n {6}also_at:\n {8}- "b\/a\.yaml:7"\n/);
  t.match(renderJunit(copies), /x\.yaml:1, b\/a\.yaml:7: critical: /);
});

t.test('SARIF as GitHub code scanning reads it: full descriptions, names, help into the docs, live objects, failed checks', async (t) => {
  const validate = sarifValidator();
  type Sarif = {
    runs: {
      tool: { driver: { rules: { id: string; name: string; fullDescription?: { text: string }; helpUri?: string }[] } };
      results: {
        ruleId: string;
        level: string;
        locations: { physicalLocation?: unknown; logicalLocations?: { kind: string; name: string }[] }[];
      }[];
    }[];
  };
  const page = readFileSync(join(root, 'docs/audit.md'), 'utf8');
  const rulesOf = (s: Sarif) => s.runs[0]?.tool.driver.rules ?? [];
  const audit = JSON.parse(renderSarif(report)) as Sarif;
  for (const rule of rulesOf(audit)) {
    t.ok((rule.fullDescription?.text.length ?? 0) > 0, `${rule.id}: fullDescription (GH2012)`);
    t.not(rule.name, rule.id, `${rule.id}: name is not the id (SARIF1001)`);
    const anchor = rule.helpUri?.split('#')[1] ?? '';
    t.ok(page.includes(`<a id="${anchor}"></a>`), `${rule.id}: helpUri ${rule.helpUri} is an anchor in docs/audit.md`);
  }
  // A live object (audit -n, run's live audit) has no file: no invented URI.
  const live = buildAuditReport(
    RULE_IDS,
    [{ ...copied, location: { file: 'cluster:ns/NetworkPolicy/p', line: 1 }, alsoAt: undefined } as (typeof findings)[number]],
    'high',
    [],
    at,
    at,
    1,
  );
  const liveSarif = JSON.parse(renderSarif(JSON.parse(JSON.stringify(live)))) as Sarif;
  t.ok(validate(liveSarif), JSON.stringify(validate.errors?.slice(0, 3)));
  const liveLocations = liveSarif.runs[0]?.results[0]?.locations ?? [];
  t.match(liveLocations, [{ logicalLocations: [{ kind: 'object', name: copied.object.name }] }]);
  t.notOk(liveLocations[0]?.physicalLocation, 'no file URI for a live object');
  // probe and run: every check that did not pass is a result, so a failed run is never clean.
  const check = (id: string, verdict: 'pass' | 'fail' | 'inconclusive'): CheckResult => ({
    id,
    kind: 'tcp',
    expect: 'blocked',
    target: '203.0.113.10:443/tcp',
    verdict,
    reason: `${verdict}: why`,
    observation: {
      outcome: verdict === 'fail' ? 'connected' : 'timeout',
      class: verdict === 'fail' ? 'reached' : 'blocked',
      durationMs: 10,
      detail: '',
    },
    pod: 'egress-verify-r-0',
    workload: 'deployment/app',
  });
  const run = {
    ...buildReport('run', [check('tcp/a', 'pass'), check('tcp/b', 'fail'), check('tcp/c', 'inconclusive')], at, at),
    subject: { namespace: 'ns', workload: 'deployment/app' },
  };
  const runSarif = JSON.parse(renderSarif(run)) as Sarif;
  t.ok(validate(runSarif), JSON.stringify(validate.errors?.slice(0, 3)));
  t.match(runSarif.runs[0]?.results, [
    {
      ruleId: 'check-failed',
      level: 'error',
      locations: [
        {
          logicalLocations: [
            { kind: 'namespace', name: 'ns' },
            { name: 'deployment/app' },
            { name: 'egress-verify-r-0' },
            { name: 'tcp/b' },
          ],
        },
      ],
    },
    { ruleId: 'check-inconclusive', level: 'error' },
  ]);
  t.equal(runSarif.runs[0]?.results.length, 2, 'the passing check is no result');
  for (const rule of rulesOf(runSarif).filter((r) => r.id.startsWith('check-')))
    t.ok(page.includes(`<a id="${rule.helpUri?.split('#')[1]}"></a>`), `${rule.id}: helpUri is an anchor in docs/audit.md`);
});

t.test('TAP: one point per rule, not ok when it fails, findings with file:line in the diagnostic', async (t) => {
  const tap = renderTap(report);
  const points: { ok: boolean; name: string; diag: { findings?: { at: string }[] } | null }[] = [];
  const parser = new Parser();
  parser.on('assert', (a: (typeof points)[number]) => points.push(a));
  const done = new Promise<{ ok: boolean }>((resolve) => parser.on('complete', resolve));
  parser.end(tap);
  t.equal((await done).ok, false);
  t.equal(points.length, RULES.length);
  t.same(
    points.filter((p) => !p.ok).map((p) => p.name),
    ['wide-egress (1 finding)'],
  );
  t.same(points.find((p) => p.name.startsWith('wide-egress'))?.diag?.findings?.[0]?.at, `${file}:102`);
  t.match(tap, /# warning: x\.yaml:3: a document that is not an object/);
});

t.test('JUnit: one testcase per rule, a failure for a failing rule', async (t) => {
  const xml = renderJunit(report);
  t.match(xml, new RegExp(`tests="${RULES.length}" failures="1"`));
  t.match(xml, /<testcase classname="egress-verify.audit" name="wide-egress" time="0.000">\n\s+<failure type="critical"/);
  const wide = findings.find((f) => f.ruleId === 'wide-egress');
  t.ok(wide);
  t.match(xml, `<failure type="critical" message="${wide?.message.replace(/'/g, '&apos;')}`, 'the message says what was found');
  t.notMatch(xml, /message="Remove the wide rule/, 'not the fix');
});
