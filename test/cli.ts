// For tests of the binary as a user runs it: exit code, stdout and stderr of `egress-verify ARGS`.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** `egress-verify ARGS` with every module it resolves (test/module-log.mjs): what a command loads. */
export function modulesLoaded(args: readonly string[]): { status: number | null; modules: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'ev-modules-'));
  const log = join(dir, 'modules.log');
  try {
    const r = spawnSync(
      process.execPath,
      ['--import', join(repoRoot, 'test/module-log.mjs'), '--import', 'tsx', join(repoRoot, 'src/cli.ts'), ...args],
      {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, EGRESS_VERIFY_LOG_LEVEL: 'silent', EGRESS_VERIFY_MODULE_LOG: log },
      },
    );
    return { status: r.status, modules: readFileSync(log, 'utf8').split('\n') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
