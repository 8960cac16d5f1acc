// The samples in reports/samples/ come from real runs (npm run samples); they must stay true to
// the schema and the sample bundle must still verify with its published key.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { reportValidator } from '../commands/report.js';
import { verifyingKey } from '../evidence/keys.js';
import { verifyBundle } from '../evidence/manifest.js';
import { packageRoot } from '../package-root.js';
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
