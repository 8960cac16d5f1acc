// For unit tests of commands that print: their stdout, kept out of the TAP stream.
export function captureStdout(fn: () => number): { code: number; out: string } {
  const write = process.stdout.write;
  let out = '';
  process.stdout.write = ((chunk: string) => {
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    return { code: fn(), out };
  } finally {
    process.stdout.write = write;
  }
}
