/** What the lab suites share: the built CLI (run inside the workload namespace as in a probe pod), a lab and a scratch directory. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Lab, startLab } from './lab.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** dist/src/cli.js, built first when missing. */
export function builtCli(): string {
  const cli = join(root, 'dist/src/cli.js');
  if (!existsSync(cli)) execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  return cli;
}

/** A started lab and a scratch directory, both removed at the suite's teardown. */
export async function labSuite(t: { teardown: (fn: () => unknown) => void }, prefix: string): Promise<{ lab: Lab; scratch: string }> {
  const lab = await startLab();
  t.teardown(() => lab.close());
  const scratch = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  return { lab, scratch };
}
