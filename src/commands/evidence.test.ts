import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { modulesLoaded, repoRoot } from '../../test/cli.js';
import { captureStdout } from '../../test/stdout.js';
import { ExitCode } from '../base/errors.js';
import { buildManifest, MANIFEST, SIGNATURE, serializeManifest, signManifest } from '../evidence/manifest.js';
import { evidenceVerifyCommand } from './evidence.js';

const scratch = mkdtempSync(join(tmpdir(), 'ev-verify-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

t.test('an intact bundle whose report this version cannot read still verifies, and says so', async (t) => {
  const dir = join(scratch, 'future');
  mkdirSync(dir);
  writeFileSync(join(dir, 'report.json'), '{"schemaVersion": 2}\n');
  writeFileSync(join(dir, MANIFEST), serializeManifest(buildManifest(dir, { createdAt: '2026-11-27T00:00:00.000Z' })));
  const r = captureStdout(() => evidenceVerifyCommand(dir, {}));
  t.equal(r.code, ExitCode.pass);
  t.match(r.out, /unsigned: integrity only/);
  t.match(r.out, /report: not summarised \(.*not an egress-verify report/);
  t.match(r.out, /\nverified\n$/);
});

t.test('a directory that is not there is a usage error', async (t) => {
  t.throws(() => evidenceVerifyCommand(join(scratch, 'nope'), {}), { message: /is not a directory/ });
});

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const publicPem = join(scratch, 'pub.pem');
writeFileSync(publicPem, publicKey.export({ type: 'spki', format: 'pem' }));

/** A bundle sealed like writeBundle seals one; `previous` links it to an earlier one's chain. */
function seal(
  name: string,
  opts: { signed?: boolean; runId?: string; createdAt?: string; previous?: string } = {},
): { dir: string; chain: string } {
  const dir = join(scratch, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'report.json'), '{}\n');
  const m = buildManifest(
    dir,
    {
      createdAt: opts.createdAt ?? '2026-11-27T00:00:00.000Z',
      runId: opts.runId ?? 'r1',
      ...(opts.previous && { previous: opts.previous }),
    },
    opts.signed ? privateKey : undefined,
  );
  const bytes = serializeManifest(m);
  writeFileSync(join(dir, MANIFEST), bytes);
  if (opts.signed) writeFileSync(join(dir, SIGNATURE), `${signManifest(bytes, privateKey)}\n`);
  return { dir, chain: m.chain };
}

t.test('a file added however deep is found', async (t) => {
  const { dir } = seal('deep');
  const deep = join(dir, ...Array.from({ length: 12 }, (_, i) => `d${i}`));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'extra.json'), '{}');
  const r = captureStdout(() => evidenceVerifyCommand(dir, {}));
  t.equal(r.code, ExitCode.fail);
  t.match(r.out, /FAILED d0\/d1\/.*\/d11\/extra\.json: added/);
});

t.test('a signed bundle checked without --key is intact, not verified: its own exit code and wording', async (t) => {
  const { dir } = seal('signed', { signed: true });
  const without = captureStdout(() => evidenceVerifyCommand(dir, {}));
  t.equal(without.code, ExitCode.inconclusive);
  t.match(without.out, /\nintact, signer NOT verified: give --key/);
  t.notMatch(without.out, /\nverified\n/);
  const withKey = captureStdout(() => evidenceVerifyCommand(dir, { key: publicPem }));
  t.equal(withKey.code, ExitCode.pass);
  t.match(withKey.out, /signature: valid.*\nverified\n$/s);
});

t.test('what it prints from the bundle cannot forge lines: control characters are escaped', async (t) => {
  const { dir } = seal('forged', { runId: 'r1\nverified\n\u001b[2K' });
  const r = captureStdout(() => evidenceVerifyCommand(dir, {}));
  t.match(r.out, /run r1\\x0averified\\x0a\\x1b\[2K, sealed/);
  t.equal(r.out.split('\n').filter((l) => l === 'verified').length, 1);
});

t.test('a file of another size is changed without reading it', async (t) => {
  const { dir } = seal('resized');
  writeFileSync(join(dir, 'report.json'), '{"x": 1}\n');
  const r = captureStdout(() => evidenceVerifyCommand(dir, {}));
  t.equal(r.code, ExitCode.fail);
  t.match(r.out, /FAILED report\.json: changed \(9 bytes, manifest says 3\)/);
});

t.test('--previous: the next bundle in the chain verifies, a replayed one does not', async (t) => {
  const first = seal('chain-1', { createdAt: '2026-11-27T00:00:00.000Z' });
  const second = seal('chain-2', { createdAt: '2026-11-28T00:00:00.000Z', previous: first.chain });
  const next = captureStdout(() => evidenceVerifyCommand(second.dir, { previous: first.dir }));
  t.equal(next.code, ExitCode.pass, next.out);
  const replay = captureStdout(() => evidenceVerifyCommand(first.dir, { previous: second.dir }));
  t.equal(replay.code, ExitCode.fail);
  t.match(replay.out, /does not follow .*chain-2 .*a replayed or out-of-order bundle/);
  const same = captureStdout(() => evidenceVerifyCommand(second.dir, { previous: second.dir }));
  t.equal(same.code, ExitCode.fail);
  t.throws(() => evidenceVerifyCommand(second.dir, { previous: join(scratch, 'nope') }), { message: /--previous .* is not a directory/ });
});

t.test('evidence verify, as the CLI runs it, loads neither the probe nor the Kubernetes client', async (t) => {
  const heavy = (modules: readonly string[]): string[] =>
    modules.filter((m) => /\/node_modules\/(undici|socks|socks-proxy-agent|@kubernetes\/client-node)\/|\/probes\/checks\//.test(m));
  // The control: the hook sees the probe's network stack where a command does load it.
  const probe = modulesLoaded(['probe', '--print-plan', '--companion', 'http://egress-guardian-svc:8080']);
  t.equal(probe.status, ExitCode.pass);
  t.ok(
    heavy(probe.modules).some((m) => m.includes('/node_modules/undici/')),
    'probe loads undici: the hook sees it',
  );
  const verify = modulesLoaded([
    'evidence',
    'verify',
    join(repoRoot, 'reports/samples/evidence'),
    '--key',
    join(repoRoot, 'reports/samples/evidence.pub'),
  ]);
  t.equal(verify.status, ExitCode.pass, 'the sample bundle verifies');
  t.ok(
    verify.modules.some((m) => m.endsWith('/src/report/read.ts')),
    'its report was read',
  );
  t.same(heavy(verify.modules), [], 'no undici, socks, Kubernetes client or probe check');
});
