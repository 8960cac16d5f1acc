import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Every child of the lab: bounded in time, killed by PID, never by name. */

export class LabError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LabError';
  }
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly input?: string;
  readonly timeoutMs?: number;
  /** Called with the child once it is spawned, and again with `undefined` once it has exited. */
  readonly track?: (child: ChildProcess | undefined) => void;
}

const MAX_OUTPUT = 16 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Runs a command to completion. The child leads its own process group so a timeout kills
 * everything it started (a shell's children too), not just the first process.
 */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    opts.track?.(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (s: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += s;
    });
    child.stderr.on('data', (s: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += s;
    });
    // A child that exits without reading its input makes the write fail with EPIPE; that is
    // the child's business, not an error of the run.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      opts.track?.(undefined);
      reject(new LabError(`cannot run ${cmd}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      opts.track?.(undefined);
      resolve({ code: timedOut ? null : code, stdout, stderr, timedOut });
    });
  });
}

/** Runs a setup command that must succeed; its stderr becomes the error message. */
export async function runChecked(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, { timeoutMs: 15_000, ...opts });
  if (r.code !== 0) {
    const why = r.timedOut ? 'timed out' : `exit ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`;
    throw new LabError(`${cmd} ${args.join(' ')} failed (${why})`);
  }
  return r.stdout;
}

export function inNetns(ns: string, argv: readonly string[]): [string, string[]] {
  return ['ip', ['netns', 'exec', ns, ...argv]];
}

export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/**
 * A long-running server inside a lab namespace. `ip netns exec` execs the command in place,
 * so the PID we hold is the server's own PID.
 */
export class Daemon {
  readonly exited: Promise<void>;
  private exitNote: string | undefined;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitNote = signal ? `killed by ${signal}` : `exit ${code}`;
        resolve();
      });
      child.once('error', (err) => {
        this.exitNote = `spawn failed: ${err.message}`;
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitNote === undefined;
  }

  /** Why the daemon is gone, with the tail of its log, for start-up errors. */
  describeExit(): string {
    let tail = '';
    try {
      tail = readFileSync(this.logFile, 'utf8').trim().split('\n').slice(-5).join(' | ');
    } catch {
      // no log yet
    }
    return `${this.name} ${this.exitNote ?? 'running'}${tail ? `: ${tail}` : ''}`;
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      this.child.kill(sig);
    } catch {
      // already gone
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is reaped (bounded). */
  async stop(graceMs = 3000): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    if (await settlesWithin(this.exited, graceMs)) return;
    this.signal('SIGKILL');
    await settlesWithin(this.exited, 2000);
  }
}

const HAVE_SETPRIV = (process.env.PATH ?? '/usr/bin:/bin').split(':').some((dir) => dir && existsSync(`${dir}/setpriv`));

export function startDaemon(
  name: string,
  ns: string,
  argv: readonly string[],
  logFile: string,
  opts: { env?: NodeJS.ProcessEnv; stdinPipe?: boolean } = {},
): Daemon {
  // setpriv's parent-death signal: if the lab's owner is SIGKILLed (no exit hook runs), its
  // servers die with it instead of holding the namespace's ports.
  const guarded = HAVE_SETPRIV ? ['setpriv', '--pdeathsig', 'KILL', ...argv] : argv;
  const [cmd, args] = inNetns(ns, guarded);
  const fd = openSync(logFile, 'a');
  try {
    // Not detached: a Ctrl-C on the terminal reaches the servers as well as the test runner.
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      stdio: [opts.stdinPipe ? 'pipe' : 'ignore', fd, fd],
    });
    child.stdin?.on('error', () => {});
    return new Daemon(name, child, logFile);
  } finally {
    closeSync(fd);
  }
}

export interface Listener {
  readonly proto: 'tcp' | 'udp';
  readonly addr: string; // '0.0.0.0' / '::' accept any bound address
  readonly port: number;
}

/** Polls `ss` inside `ns` until every listener is bound; fails fast if a daemon dies. */
export async function waitForListeners(
  ns: string,
  wanted: readonly Listener[],
  daemons: readonly Daemon[],
  { tries = 300, intervalMs = 50 } = {},
): Promise<void> {
  for (let i = 0; i < tries; i++) {
    const dead = daemons.find((d) => !d.running);
    if (dead) throw new LabError(`lab server stopped during start-up: ${dead.describeExit()}`);
    const [cmd, args] = inNetns(ns, ['ss', '-Hlntu']);
    const r = await run(cmd, args, { timeoutMs: 5000 });
    const bound = parseSs(r.stdout);
    if (wanted.every((w) => bound.some((b) => matches(b, w)))) return;
    await sleep(intervalMs);
  }
  const missing = wanted.map((w) => `${w.proto}/${w.addr}:${w.port}`).join(', ');
  throw new LabError(`timed out waiting for ${missing} in ${ns}`);
}

/** Polls until no listener on any of `ports` remains (after a proxy was stopped). */
export async function waitForNoListeners(ns: string, ports: readonly number[], { tries = 100, intervalMs = 50 } = {}) {
  for (let i = 0; i < tries; i++) {
    const [cmd, args] = inNetns(ns, ['ss', '-Hlnt']);
    const r = await run(cmd, args, { timeoutMs: 5000 });
    if (!parseSs(r.stdout).some((b) => ports.includes(b.port))) return;
    await sleep(intervalMs);
  }
  throw new LabError(`ports ${ports.join(', ')} still bound in ${ns}`);
}

interface Bound {
  proto: string;
  addr: string;
  port: number;
}

function parseSs(out: string): Bound[] {
  const bound: Bound[] = [];
  for (const line of out.split('\n')) {
    const cols = line.trim().split(/\s+/);
    const proto = cols[0];
    const local = cols[4];
    if (!proto || !local) continue;
    const m = /^(.*):(\d+)$/.exec(local);
    if (!m?.[1] || !m[2]) continue;
    const addr = m[1].replace(/^\[|\]$/g, '').replace(/%.*$/, '');
    bound.push({ proto, addr, port: Number(m[2]) });
  }
  return bound;
}

function matches(b: Bound, w: Listener): boolean {
  if (b.proto !== w.proto || b.port !== w.port) return false;
  const wildcard = b.addr === '*' || b.addr === '0.0.0.0' || b.addr === '::';
  return wildcard || b.addr === w.addr;
}

export async function settlesWithin(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
