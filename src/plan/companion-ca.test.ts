import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { throwawayCa } from '../../test/throwaway-ca.js';
import { UsageError } from '../base/errors.js';
import { checkPem } from './companion-ca.js';

t.test('a CA bundle with its private key keeps only the certificates', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ev-pem-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  throwawayCa(dir, 'test-ca');
  const bundle = readFileSync(join(dir, 'k.pem'), 'utf8') + readFileSync(join(dir, 'c.pem'), 'utf8');
  const kept = checkPem(bundle, 'bundle');
  t.notMatch(kept, /PRIVATE KEY/);
  t.match(kept, /^-----BEGIN CERTIFICATE-----/);
  t.throws(() => checkPem(readFileSync(join(dir, 'k.pem'), 'utf8'), 'key only'), UsageError);
  t.throws(() => checkPem('-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----', 'junk'), UsageError);
});
