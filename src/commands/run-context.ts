/**
 * The effects `run` has on the world outside the cluster, as one value: the environment, the
 * clock, the host's name, the command line, the output streams and the signals. cli.ts passes
 * the process's own (processContext); a test passes its own, so the command's logic runs in it.
 */
import { hostname } from 'node:os';
import type { Environment } from '../base/environment.js';
import type { OutputStream } from '../base/stream.js';

export interface RunContext {
  readonly env: Environment;
  readonly now: () => Date;
  readonly hostname: () => string;
  /** The arguments after the binary's name, recorded in the evidence bundle. */
  readonly argv: readonly string[];
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Calls `handler` on SIGINT or SIGTERM until the returned function is called. */
  readonly onInterrupt: (handler: () => void) => () => void;
}

export function processContext(): RunContext {
  return {
    env: process.env,
    now: () => new Date(),
    hostname,
    argv: process.argv.slice(2),
    stdout: process.stdout,
    stderr: process.stderr,
    onInterrupt: (handler) => {
      process.once('SIGINT', handler).once('SIGTERM', handler);
      return () => process.off('SIGINT', handler).off('SIGTERM', handler);
    },
  };
}
