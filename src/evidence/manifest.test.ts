import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildManifest, chainOf, keyFingerprint, MANIFEST, SIGNATURE, serializeManifest, signManifest, verifyBundle } from './manifest.js';

const scratch = mkdtempSync(join(tmpdir(), 'ev-manifest-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');

let n = 0;
/** A small bundle sealed like writeBundle seals one. */
function bundle(signed: boolean): string {
  const dir = join(scratch, `b${n++}`);
  mkdirSync(join(dir, 'snapshot'), { recursive: true });
  writeFileSync(join(dir, 'report.json'), '{"verdict":"pass"}\n');
  writeFileSync(join(dir, 'snapshot/nodes.json'), '{"items":[]}\n');
  const m = buildManifest(dir, { createdAt: '2026-11-27T00:00:00.000Z', runId: 'r1' }, signed ? privateKey : undefined);
  const bytes = serializeManifest(m);
  writeFileSync(join(dir, MANIFEST), bytes);
  if (signed) writeFileSync(join(dir, SIGNATURE), `${signManifest(bytes, privateKey)}\n`);
  return dir;
}

function flipByte(path: string, at: number): void {
  const data = readFileSync(path);
  data[at % data.length] = (data[at % data.length] ?? 0) ^ 0x01;
  writeFileSync(path, data);
}

t.test('an untouched bundle verifies, signed with the key or unsigned', async (t) => {
  const signed = verifyBundle(bundle(true), publicKey);
  t.ok(signed.ok, signed.problems.join('; '));
  t.match(signed.notes, [`signature: valid, by ${keyFingerprint(publicKey)}`]);
  const unsigned = verifyBundle(bundle(false));
  t.ok(unsigned.ok);
  t.match(unsigned.notes, [/^unsigned: integrity only, chain [0-9a-f]{64}; who made it/]);
  const notChecked = verifyBundle(bundle(true));
  t.ok(notChecked.ok, 'hashes hold');
  t.match(notChecked.notes, [/NOT checked: give --key/]);
});

t.test('one changed byte anywhere fails, naming the file', async (t) => {
  for (const signed of [true, false]) {
    const files = ['report.json', 'snapshot/nodes.json', MANIFEST, ...(signed ? [SIGNATURE] : [])];
    for (const file of files) {
      // Every position of the small files, a spread of them in the manifest.
      const size = readFileSync(join(bundle(signed), file)).length;
      const positions = size < 64 ? [...Array(size).keys()] : [0, 1, 7, 30, 77, 150, 400, size - 2, size - 1];
      for (const at of positions) {
        const dir = bundle(signed);
        flipByte(join(dir, file), at);
        const v = verifyBundle(dir, signed ? publicKey : undefined);
        if (v.ok || !v.problems.some((p) => p.includes(file))) {
          t.fail(
            `flipping byte ${at} of ${file} (${signed ? 'signed' : 'unsigned'}) was not named: ${v.problems.join('; ') || 'verified'}`,
          );
          return;
        }
      }
      t.pass(`${signed ? 'signed' : 'unsigned'}: every flipped byte of ${file} is caught and named`);
    }
  }
});

t.test('a removed or added file is named', async (t) => {
  const removed = bundle(true);
  unlinkSync(join(removed, 'snapshot/nodes.json'));
  t.match(verifyBundle(removed, publicKey).problems, ['snapshot/nodes.json: removed']);
  const added = bundle(true);
  writeFileSync(join(added, 'snapshot/extra.json'), '{}');
  t.match(verifyBundle(added, publicKey).problems, ['snapshot/extra.json: added (not in the manifest)']);
  const noSig = bundle(true);
  unlinkSync(join(noSig, SIGNATURE));
  t.match(verifyBundle(noSig).problems, [/^manifest\.sig: removed/]);
  t.match(verifyBundle(noSig, publicKey).problems, [/^manifest\.sig: removed/, /^manifest\.sig: missing: the bundle is unsigned/]);
  const noManifest = bundle(false);
  unlinkSync(join(noManifest, MANIFEST));
  t.match(verifyBundle(noManifest).problems, [/^manifest\.json: removed/]);
});

t.test('the wrong key fails, naming the signature', async (t) => {
  const v = verifyBundle(bundle(true), other.publicKey);
  t.notOk(v.ok);
  t.match(v.problems, [
    new RegExp(`^manifest\\.sig: signature does not verify with key ${keyFingerprint(other.publicKey).replace(/[+/]/g, '\\$&')}`),
  ]);
});

t.test('a manifest rewritten to match a changed file still breaks the signature', async (t) => {
  const dir = bundle(true);
  writeFileSync(join(dir, 'report.json'), '{"verdict":"fail"}\n');
  const forged = buildManifest(dir, { createdAt: '2026-11-27T00:00:00.000Z', runId: 'r1' }, privateKey);
  writeFileSync(join(dir, MANIFEST), serializeManifest(forged));
  const v = verifyBundle(dir, publicKey);
  t.notOk(v.ok);
  t.match(v.problems, [/^manifest\.sig: signature does not verify/]);
});

t.test('the chain covers the header and every entry, in order', async (t) => {
  const base = {
    format: 'egress-verify-evidence/v1' as const,
    createdAt: 't',
    files: [
      { path: 'a', size: 1, sha256: '0'.repeat(64) },
      { path: 'b', size: 1, sha256: '1'.repeat(64) },
    ],
  };
  const chain = chainOf(base);
  t.not(chainOf({ ...base, previous: 'x' }), chain, 'linking to a previous bundle changes it');
  t.not(chainOf({ ...base, createdAt: 'u' }), chain);
  t.not(chainOf({ ...base, files: [...base.files].reverse() }), chain);
  t.equal(chainOf({ ...base }), chain, 'and it is deterministic');
});

t.test('a manifest that points outside the bundle is refused before anything is read', async (t) => {
  for (const path of ['../outside.json', '/etc/hostname', 'snapshot/../../x', './report.json']) {
    const dir = bundle(false);
    const m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8'));
    m.files[0].path = path;
    writeFileSync(join(dir, MANIFEST), JSON.stringify(m));
    t.match(verifyBundle(dir).problems, [/^manifest\.json: malformed file list/], path);
  }
});
