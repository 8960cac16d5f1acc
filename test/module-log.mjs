// A module loader hook for tests of what a command loads: every module URL resolved is appended
// to the file named by $EGRESS_VERIFY_MODULE_LOG. Use: node --import ./test/module-log.mjs ...
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

// Imported on the main thread it registers itself; the loader thread then runs `resolve`.
if (isMainThread) register(import.meta.url);

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.EGRESS_VERIFY_MODULE_LOG ?? '/dev/null', `${resolved.url}\n`);
  return resolved;
}
