// TAP as its consumers read it: Perl's TAP::Parser (what Debian's `prove` runs) and node-tap's
// tap-parser must both get back every diagnostic value, whatever text a companion replied.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Parser } from 'tap-parser';
import type { CheckResult, Verdict } from '../../probes/base/model.js';
import { cli } from '../../test/cli.js';
import type { AuditFinding } from '../audit/finding.js';
import { buildAuditReport, buildReport } from './report.js';
import { diagnostic, renderTap } from './tap.js';

const HOSTILE = [
  'line one\nline two: with a colon\n- a dash\n  indented',
  '  leading and trailing spaces  ',
  'quotes "double" and \'single\', a backslash \\ and \\n not a newline',
  'a # comment sign and a tab\there',
  'control \u0001\u001b[31m red \u007f',
  'yes',
  '1.5',
  '2026-11-27',
  '~',
  '',
  'ünïcödé → ✓',
  '---',
  '...',
  '|-',
];

const result = (i: number, verdict: Verdict): CheckResult => ({
  id: `tcp/site-${i}`,
  kind: 'tcp',
  expect: 'blocked',
  target: '203.0.113.10:443/tcp',
  verdict,
  reason: HOSTILE[i % HOSTILE.length] ?? '',
  observation: { outcome: 'timeout', class: 'blocked', durationMs: 1500, detail: HOSTILE[(i + 1) % HOSTILE.length] ?? '' },
  control: 'proxy-https/site',
});

/** What TAP::Parser makes of a stream: each test point with its YAML, the parse errors, the version. */
const PERL_READER = `
use strict; use warnings; use TAP::Parser; use JSON::PP;
binmode STDIN, ':encoding(UTF-8)';
local $/; my $tap = <STDIN>;
my $p = TAP::Parser->new({ tap => $tap });
my (@tests, $last);
while (my $r = $p->next) {
  if ($r->is_test) { $last = { ok => ($r->is_ok ? 1 : 0), description => $r->description }; push @tests, $last; }
  elsif ($r->is_yaml) { $last->{yaml} = $r->data; }
}
print JSON::PP->new->utf8->canonical->encode({ tests => \\@tests, errors => [$p->parse_errors], version => $p->version });
`;

interface PerlRead {
  tests: { ok: number; description: string; yaml?: Record<string, unknown> }[];
  errors: string[];
  version: number;
}

function perlRead(tap: string): PerlRead {
  const r = spawnSync('perl', ['-e', PERL_READER], { input: tap, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`perl: ${r.stderr}`);
  return JSON.parse(r.stdout) as PerlRead;
}

async function tapParserRead(tap: string): Promise<{ ok: boolean; diags: unknown[] }> {
  const parser = new Parser();
  const diags: unknown[] = [];
  parser.on('assert', (a: { diag?: unknown }) => diags.push(a.diag));
  const done = new Promise<{ ok: boolean }>((resolve) => parser.on('complete', resolve));
  parser.end(tap);
  return { ok: (await done).ok, diags };
}

const results = HOSTILE.map((_, i) => result(i, i === 3 ? 'fail' : 'pass'));
const run = buildReport('run', results, new Date('2026-11-27T00:00:00Z'), new Date('2026-11-27T00:00:42Z'));

t.test('TAP 13: TAP::Parser 3.44 reads every diagnostic value back, multi-line and hostile text included', async (t) => {
  const read = perlRead(renderTap(run, '13'));
  t.same(read.errors, [], 'no parse errors');
  t.equal(String(read.version), '13');
  t.equal(read.tests.length, results.length);
  for (const [i, r] of results.entries()) {
    const got = read.tests[i];
    t.equal(got?.ok, r.verdict === 'pass' ? 1 : 0);
    // Perl has no number type in YAMLish: the duration comes back as its digits.
    t.same(got?.yaml, { ...diagnostic(r), duration_ms: String(r.observation.durationMs) }, `${r.id}: ${JSON.stringify(r.reason)}`);
  }
});

t.test('TAP 14: tap-parser (node-tap) reads the same values, with their types', async (t) => {
  const tap = renderTap(run);
  t.match(tap, /^TAP version 14\n/);
  t.notMatch(tap, /: [|>][-+]?$/m, 'no block scalars');
  const read = await tapParserRead(tap);
  t.equal(read.ok, false, 'the failing check fails the stream');
  // tap-parser takes duration_ms as the point's time, out of the diagnostic.
  t.same(
    read.diags,
    results.map((r) => {
      const { duration_ms: _time, ...rest } = diagnostic(r);
      return rest;
    }),
  );
});

t.test("an audit's diagnostics (a list of findings) read back in both", async (t) => {
  const finding = (i: number): AuditFinding => ({
    ruleId: 'wide-egress',
    severity: 'critical',
    message: HOSTILE[i] ?? '',
    fix: 'Scope the rule.\nThen re-run.',
    object: { kind: 'NetworkPolicy', namespace: 'ns', name: `p${i}` },
    location: { file: `dir with space/p${i}.yaml`, line: i + 1 },
  });
  const audit = buildAuditReport(['wide-egress'], [finding(0), finding(4)], 'high', [], new Date(0), new Date(1), 2);
  const read = perlRead(renderTap(audit, '13'));
  t.same(read.errors, []);
  const point = read.tests.find((p) => p.description.includes('wide-egress'));
  t.same(point?.yaml, {
    severity: 'critical',
    fix: 'Scope the rule.\nThen re-run.',
    findings: [0, 4].map((i) => ({ at: `dir with space/p${i}.yaml:${i + 1}`, object: `NetworkPolicy/ns/p${i}`, message: HOSTILE[i] })),
  });
  t.same((await tapParserRead(renderTap(audit))).diags.filter(Boolean), [point?.yaml]);
});

t.test("Debian's prove runs a --tap-version 13 stream; the CLI refuses other versions", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ev-tap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const passing = buildReport(
    'probe',
    results.map((r) => ({ ...r, verdict: 'pass' as const })),
    new Date(0),
    new Date(1),
  );
  writeFileSync(join(dir, 'report.json'), JSON.stringify(passing));
  const rendered = cli(['report', 'render', join(dir, 'report.json'), '-o', `tap=${join(dir, 'run.tap')}`, '--tap-version', '13']);
  t.equal(rendered.status, 0, rendered.stderr);
  const prove = spawnSync('prove', ['--exec', 'cat', join(dir, 'run.tap')], { encoding: 'utf8' });
  t.equal(prove.status, 0, prove.stdout + prove.stderr);
  t.match(prove.stdout, /Result: PASS/);
  const bad = cli(['report', 'render', join(dir, 'report.json'), '--tap-version', '12']);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /--tap-version/);
});
