import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { awaitLane, LANE_GO, LANE_WAIT } from './lane.js';

t.test('the lane comes when the file reads go, as the kubelet rewrites it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lane-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'lane');
  writeFileSync(file, LANE_WAIT);
  const started = performance.now();
  setTimeout(() => writeFileSync(file, `${LANE_GO}\n`), 300);
  t.equal(await awaitLane(file, started + 5000), true);
  const waited = performance.now() - started;
  t.ok(waited >= 290 && waited < 1000, `came ${Math.round(waited)} ms in`);
});

t.test('no go by the deadline, or no file at all: no lane, and the wait is bounded', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lane-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'lane'), LANE_WAIT);
  const started = performance.now();
  t.equal(await awaitLane(join(dir, 'lane'), started + 350), false);
  const waited = performance.now() - started;
  t.ok(waited >= 340 && waited < 1000, `gave up ${Math.round(waited)} ms in`);
  let reads = 0;
  const missing = await awaitLane(join(dir, 'absent'), performance.now() + 500, async (f) => {
    reads++;
    throw new Error(`ENOENT: ${f}`);
  });
  t.equal(missing, false, 'an unreadable file is not a go');
  t.ok(reads >= 2 && reads <= 7, `${reads} reads in half a second`);
  t.equal(await awaitLane(join(dir, 'lane'), 0), false, 'a deadline already past reads once, and returns');
});
