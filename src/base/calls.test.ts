import t from 'tap';
import { mapBounded, oncePerKey } from './calls.js';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('mapBounded keeps to its bound and to the items order', async (t) => {
  let running = 0;
  let most = 0;
  const out = await mapBounded([5, 1, 4, 2, 3, 0, 6], 3, async (ms) => {
    running++;
    most = Math.max(most, running);
    await tick(ms);
    running--;
    return ms * 10;
  });
  t.same(out, [50, 10, 40, 20, 30, 0, 60]);
  t.equal(most, 3);
  t.same(await mapBounded([], 3, async () => 1), []);
});

t.test("mapBounded runs every call, then throws the first item's failure in order, not in time", async (t) => {
  const ran: number[] = [];
  await t.rejects(
    mapBounded([0, 1, 2, 3], 4, async (i) => {
      ran.push(i);
      // Item 1 fails late, item 3 early: the reported failure is item 1's.
      if (i === 1) await tick(20);
      if (i % 2 === 1) throw new Error(`item ${i}`);
      return i;
    }),
    { message: 'item 1' },
  );
  t.same(ran.sort(), [0, 1, 2, 3]);
});

t.test('oncePerKey makes one call per key and shares its value or its failure', async (t) => {
  const calls: string[] = [];
  const read = oncePerKey(
    (name: string) => name.toLowerCase(),
    async (name) => {
      calls.push(name);
      await tick(1);
      if (name === 'bad') throw new Error('bad read');
      return name.length;
    },
  );
  t.same(await Promise.all([read('Svc'), read('svc'), read('other'), read('SVC')]), [3, 3, 5, 3]);
  t.same(calls, ['Svc', 'other']);
  await t.rejects(read('bad'), { message: 'bad read' });
  await t.rejects(read('BAD'), { message: 'bad read' });
  t.same(calls, ['Svc', 'other', 'bad']);
});
