// The samples in reports/samples/ come from real runs (npm run samples); they must stay true to
// the schema and the sample bundle must still verify with its published key.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import t from 'tap';
import { renderJsonLines } from '../../probes/wire.js';
import { packageRoot, readPackageFile } from '../base/package-root.js';
import { verifyingKey } from '../evidence/keys.js';
import { verifyBundle } from '../evidence/manifest.js';
import { reportValidator } from './read.js';
import type { Report } from './report.js';

const SAMPLES = join(packageRoot, 'reports/samples');
const read = (file: string): Report => JSON.parse(readFileSync(join(SAMPLES, file), 'utf8')) as Report;

t.test('every sample report matches the schema', async (t) => {
  const files = readdirSync(SAMPLES).filter((f) => f.endsWith('.json'));
  t.ok(files.length >= 3, files.join(', '));
  const validate = reportValidator();
  for (const file of files) t.ok(validate(read(file)), `${file}: ${JSON.stringify(validate.errors)}`);
});

t.test('the samples show a pass, a bypass with its changes, and an audit', async (t) => {
  t.equal(read('run-pass.json').verdict, 'pass');
  const bypass = read('run-bypass.json');
  t.equal(bypass.verdict, 'fail');
  t.ok((bypass.changes?.newBypasses.length ?? 0) > 0, 'the bypass run says what is new since the pass');
  t.equal(read('audit-reference.json').command, 'audit');
});

t.test('the sample evidence bundle verifies with its public key', async (t) => {
  const v = verifyBundle(join(SAMPLES, 'evidence'), verifyingKey(readFileSync(join(SAMPLES, 'evidence.pub'), 'utf8'), 'evidence.pub'));
  t.ok(v.ok, v.problems.join('; '));
});

t.test('JSON lines: every line of every sample matches reports/report-lines.schema.json and they join back into the report', async (t) => {
  const ajv = new Ajv2020({ strict: false });
  addFormats.default(ajv);
  ajv.addSchema(JSON.parse(readPackageFile('reports/report.schema.json')));
  const validate = ajv.compile(JSON.parse(readPackageFile('reports/report-lines.schema.json')));
  for (const file of readdirSync(SAMPLES).filter((f) => f.endsWith('.json'))) {
    const report = read(file);
    const lines = renderJsonLines(report)
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string } & Record<string, unknown>);
    for (const [i, line] of lines.entries()) t.ok(validate(line), `${file} line ${i + 1}: ${JSON.stringify(validate.errors)}`);
    const { type: _summary, ...rest } = lines.at(-1) ?? { type: '' };
    const results = lines.slice(0, -1).map(({ type: _result, ...r }) => r);
    t.same({ ...rest, results }, report, `${file}: the lines are the report`);
  }
  const [first] = read('run-pass.json').results;
  t.notOk(validate({ type: 'result', ...first, verdict: 'passed' }), 'a result line with a verdict the schema does not know');
  t.notOk(validate({ type: 'result', ...first, extra: 1 }), 'a result line with a field the report has not');
  t.notOk(validate({ type: 'summary', ...read('run-pass.json') }), 'a summary line that carries the results');
});
