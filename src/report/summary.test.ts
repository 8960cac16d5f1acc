// The human summary as a person sees it: in a real terminal (tmux, read back with capture-pane),
// and never on a pipe.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { CheckResult } from '../../probes/base/model.js';
import { cli, repoRoot } from '../../test/cli.js';
import { buildReport } from './report.js';
import { renderHumanSummary } from './summary.js';

t.setTimeout(300_000);

const check = (id: string, verdict: CheckResult['verdict'], reason: string): CheckResult => ({
  id,
  kind: 'tcp',
  expect: 'blocked',
  target: '203.0.113.10:443/tcp',
  verdict,
  reason,
  observation: { outcome: 'timeout', class: 'blocked', durationMs: 1, detail: '' },
  workload: 'deployment/app',
  pod: 'egress-verify-r-0',
});

t.test('the summary: verdict, counts, each check that did not pass with its reason, where every report went', async (t) => {
  const report = {
    ...buildReport(
      'run',
      [check('tcp/a', 'pass', 'ok'), check('tcp/b', 'fail', 'connected: a bypass'), check('tcp/c', 'inconclusive', 'no control\u001b[2J')],
      new Date(0),
      new Date(1),
    ),
    findings: [
      {
        ruleId: 'twin-inexact',
        severity: 'high' as const,
        message: 'runtimeClassName differs',
        fix: 'f',
        object: { kind: 'Deployment', name: 'app' },
        decides: 'inconclusive' as const,
      },
    ],
  };
  t.equal(
    renderHumanSummary(report, [
      { what: 'tap', where: 'run.tap' },
      { what: 'evidence bundle', where: 'bundle/' },
    ]),
    [
      'egress-verify run: FAIL (1 pass, 1 fail, 1 inconclusive, 0 error)',
      'decided by:',
      '  inconclusive twin-inexact Deployment/app: runtimeClassName differs',
      'not passed:',
      '  fail tcp/b [deployment/app @ egress-verify-r-0]: connected: a bypass',
      '  inconclusive tcp/c [deployment/app @ egress-verify-r-0]: no control\\x1b[2J',
      'reports:',
      '  tap: run.tap',
      '  evidence bundle: bundle/',
      '',
    ].join('\n'),
  );
});

/** Loopback only: port 9 refuses, so one check is inconclusive and one fails, in milliseconds. */
function planFile(dir: string): string {
  const plan = join(dir, 'plan.json');
  writeFileSync(
    plan,
    JSON.stringify({
      version: 1,
      checks: [
        { id: 'tcp/blocked', kind: 'tcp', expect: 'blocked', host: '127.0.0.1', port: 9, deadlineMs: 300 },
        { id: 'tcp/reach', kind: 'tcp', expect: 'reachable', host: '127.0.0.1', port: 9, deadlineMs: 300 },
      ],
    }),
  );
  return plan;
}

const tmux = (...args: string[]) => spawnSync('tmux', ['-L', 'ev-summary-test', ...args], { encoding: 'utf8' });

/** Runs a shell command in a fresh tmux window and returns the screen once it printed DONE. */
async function onTerminal(command: string): Promise<string> {
  tmux('kill-server');
  const started = tmux('new-session', '-d', '-x', '200', '-y', '50', `${command}; echo DONE; sleep 60`);
  if (started.status !== 0) throw new Error(`tmux: ${started.stderr}`);
  try {
    for (let i = 0; i < 240; i++) {
      const screen = tmux('capture-pane', '-p', '-J').stdout;
      if (/^DONE$/m.test(screen)) return screen;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`no DONE within 60 s: ${tmux('capture-pane', '-p').stdout}`);
  } finally {
    tmux('kill-server');
  }
}

t.test('on a terminal, with TAP in a file: the summary ends the run; on a pipe, stdout and stderr stay clean', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ev-summary-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const plan = planFile(dir);
  const binary = `${process.execPath} --import tsx ${join(repoRoot, 'src/cli.ts')}`;
  // stdout piped to a file, stderr the terminal: what the person sees, and a clean stdout.
  const screen = await onTerminal(
    `cd ${repoRoot} && EGRESS_VERIFY_LOG_LEVEL=silent ${binary} probe --plan ${plan} -o tap=${dir}/run.tap -o json=${dir}/run.json > ${dir}/stdout`,
  );
  t.match(screen, /^egress-verify probe: FAIL \(0 pass, 1 fail, 1 inconclusive, 0 error\)$/m);
  t.match(screen, /^ {2}inconclusive tcp\/blocked: blocked, but no positive control/m);
  t.match(screen, /^ {2}fail tcp\/reach: the allowed path is broken$/m);
  t.match(screen, new RegExp(`^ {2}tap: ${dir}/run\\.tap$`, 'm'));
  t.match(screen, new RegExp(`^ {2}json: ${dir}/run\\.json$`, 'm'));
  t.equal(readFileSync(join(dir, 'stdout'), 'utf8'), '', 'stdout stays clean');
  t.match(readFileSync(join(dir, 'run.tap'), 'utf8'), /^TAP version 14\n/);
  // No terminal at all: nothing but the reports.
  const piped = cli(['probe', '--plan', plan, '-o', `tap=${dir}/piped.tap`]);
  t.equal(piped.status, 1);
  t.equal(piped.stdout, '');
  t.equal(piped.stderr, '');
});
