import t from 'tap';
import { processContext } from './run-context.js';

t.test('SIGINT and SIGTERM reach the run as an interrupt, until it stops listening', async (t) => {
  const ctx = processContext();
  const before = { int: process.listenerCount('SIGINT'), term: process.listenerCount('SIGTERM') };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    let interrupted = 0;
    const stop = ctx.onInterrupt(() => interrupted++);
    // A real signal to this process: with a listener, Node does not exit on it.
    process.kill(process.pid, signal);
    const deadline = Date.now() + 5000;
    while (interrupted === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    t.equal(interrupted, 1, `${signal} interrupts`);
    stop();
  }
  t.same({ int: process.listenerCount('SIGINT'), term: process.listenerCount('SIGTERM') }, before, 'no listener left behind');
});

t.test("the process's own effects", async (t) => {
  const ctx = processContext();
  t.equal(ctx.env, process.env);
  t.same(ctx.argv, process.argv.slice(2));
  t.ok(Math.abs(ctx.now().getTime() - Date.now()) < 1000);
  t.type(ctx.hostname(), 'string');
});
