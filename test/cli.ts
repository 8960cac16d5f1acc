// For tests of the binary as a user runs it: exit code, stdout and stderr of `egress-verify ARGS`.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export function cli(args: readonly string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli.ts'), ...args], {
    cwd: repoRoot,
    input: opts.input ?? '',
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, EGRESS_VERIFY_LOG_LEVEL: 'silent', ...opts.env },
  });
}
