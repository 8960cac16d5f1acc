/**
 * Every file a user points a command at (plan, catalogue, CA, key, manifests, report), or stdin
 * as "-". Read through one descriptor with a byte limit: a size from stat() only exists for
 * regular files, and a FIFO, /dev/zero or a device would otherwise be read until memory runs out.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { UsageError } from './errors.js';

/** Larger than any sane input; a guard against pointing a flag at a disk image. */
export const MAX_INPUT_BYTES = 50 * 1024 * 1024;

const CHUNK = 1 << 20;

/** `what` names the input in the error ("catalogue", "manifest"); "-" is stdin. */
export function readInput(path: string, what: string, limit = MAX_INPUT_BYTES): string {
  const name = path === '-' ? 'stdin' : path;
  const failed = (err: unknown): UsageError =>
    new UsageError(`cannot read ${what} ${name}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  let fd: number;
  try {
    fd = path === '-' ? 0 : openSync(path, 'r');
  } catch (err) {
    throw failed(err);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      const chunk = Buffer.allocUnsafe(CHUNK);
      const n = readRetrying(fd, chunk);
      if (n === 0) break;
      total += n;
      if (total > limit) throw new UsageError(`${what} ${name} is over ${limit} bytes; refused`);
      chunks.push(n === CHUNK ? chunk : chunk.subarray(0, n));
    }
  } catch (err) {
    throw err instanceof UsageError ? err : failed(err);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

/** A pipe whose writer is slower than us reports EAGAIN on a non-blocking fd 0. */
function readRetrying(fd: number, buffer: Buffer): number {
  for (;;) {
    try {
      return readSync(fd, buffer);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue;
      if (code === 'EOF') return 0;
      throw err;
    }
  }
}
