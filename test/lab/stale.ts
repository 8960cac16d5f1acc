import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './process.js';

/**
 * Labs whose owner was killed outright (SIGKILL: no exit hook ran) leave their namespaces
 * behind; their servers died with the owner (parent-death signal). A lab is reaped only when
 * its temp dir names an owner PID that is no longer alive, so a lab being started or used by
 * another process is never touched.
 */

export const OWNER_FILE = 'owner.pid';
const LAB_NETNS = /^(evl\d+[a-z])-[a-z]+\b/;

export async function reapStaleLabs(liveIds: ReadonlySet<string>): Promise<string[]> {
  const list = await run('ip', ['netns', 'list'], { timeoutMs: 5000 });
  const byId = new Map<string, string[]>();
  for (const line of list.stdout.split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    const id = LAB_NETNS.exec(ns)?.[1];
    if (id && !liveIds.has(id)) byId.set(id, [...(byId.get(id) ?? []), ns]);
  }
  const reaped: string[] = [];
  for (const [id, namespaces] of byId) {
    const dirs = readdirSync(tmpdir()).filter((n) => n.startsWith(`${id}-`));
    const owners = dirs.map((d) => ownerOf(join(tmpdir(), d)));
    if (owners.length === 0 || owners.some((pid) => pid === undefined || isAlive(pid))) continue;
    for (const ns of namespaces) {
      await run('ip', ['netns', 'del', ns], { timeoutMs: 5000 });
      rmSync(join('/etc/netns', ns), { recursive: true, force: true });
    }
    for (const d of dirs) rmSync(join(tmpdir(), d), { recursive: true, force: true });
    reaped.push(id);
  }
  return reaped;
}

function ownerOf(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, OWNER_FILE), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but is not ours to signal.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
