import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { LANE_GO, LANE_WAIT, laneGate } from './lane.js';

t.test('the gate opens when the file reads go, as the kubelet rewrites it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lane-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'lane');
  writeFileSync(file, LANE_WAIT);
  const gate = laneGate(file, 5000);
  const started = performance.now();
  setTimeout(() => writeFileSync(file, LANE_GO), 300);
  const [first, second] = await Promise.all([gate(), gate()]);
  const waited = performance.now() - started;
  t.same([first, second], [true, true], 'every caller shares the one wait');
  t.ok(waited >= 290 && waited < 1000, `opened ${Math.round(waited)} ms in`);
  t.equal(await gate(), true, 'and stays open');
});

t.test('no go in time, or no file at all: closed once the wait runs out, and bounded', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lane-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'lane'), LANE_WAIT);
  const started = performance.now();
  t.equal(await laneGate(join(dir, 'lane'), 350)(), false);
  const waited = performance.now() - started;
  t.ok(waited >= 340 && waited < 1000, `gave up ${Math.round(waited)} ms in`);
  let reads = 0;
  const missing = laneGate(join(dir, 'absent'), 500, async (f) => {
    reads++;
    throw new Error(`ENOENT: ${f}`);
  });
  t.equal(await missing(), false, 'an unreadable file is not a go');
  t.ok(reads >= 2 && reads <= 7, `${reads} reads in half a second`);
});
