/** Where a command writes text: process.stdout or process.stderr, or a test's own. */
export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}
