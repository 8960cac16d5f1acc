import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { captureStdout } from '../../test/stdout.js';
import { ExitCode } from '../errors.js';
import { buildManifest, MANIFEST, serializeManifest } from '../evidence/manifest.js';
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
