import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { UsageError } from '../base/errors.js';
import { evidenceVerifyCommand } from '../commands/evidence.js';
import { signingKey, verifyingKey } from './keys.js';
import { keyFingerprint } from './manifest.js';

const dir = mkdtempSync(join(tmpdir(), 'ev-keys-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('keys made as docs/evidence.md says (openssl) sign and verify, with one fingerprint', async (t) => {
  const key = join(dir, 'evidence.key');
  const pub = join(dir, 'evidence.pub');
  execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key], { stdio: 'ignore' });
  execFileSync('openssl', ['pkey', '-in', key, '-pubout', '-out', pub], { stdio: 'ignore' });
  const signer = signingKey(readFileSync(key, 'utf8'), key);
  t.equal(signer.type, 'private');
  t.equal(keyFingerprint(verifyingKey(readFileSync(pub, 'utf8'), pub)), keyFingerprint(signer));
  t.equal(
    keyFingerprint(verifyingKey(readFileSync(key, 'utf8'), key)),
    keyFingerprint(signer),
    'a private key verifies as its public half',
  );
});

t.test('anything but an Ed25519 key is a usage error naming its source', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  t.throws(() => signingKey(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'secret/k:evidence.key'), {
    constructor: UsageError,
    message: 'secret/k:evidence.key is a rsa key; evidence is signed with Ed25519',
  });
  t.throws(() => signingKey('not a key', 'key.pem'), { constructor: UsageError, message: /key\.pem is not a PEM private key/ });
  t.throws(() => verifyingKey(rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'rsa.pub'), {
    constructor: UsageError,
    message: /is a rsa key/,
  });
  t.throws(() => evidenceVerifyCommand(dir, { key: join(dir, 'missing.pub') }), {
    constructor: UsageError,
    message: /cannot read key .*ENOENT/,
  });
});
