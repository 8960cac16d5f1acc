/**
 * What both entries share: the program, the `probe` subcommand and how a command ends. Every
 * failure ends as one line on stderr and a documented exit code (docs/verdict.md, "Exit codes").
 */
import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError, Option } from 'commander';
import { ExitCode, oneLine } from './base/errors.js';
import { log } from './base/log.js';
import { toolVersion } from './base/package-root.js';
import { FORMATS } from './report/formats.js';
import { TAP_VERSIONS } from './report/tap.js';

export const collect = (value: string, previous: string[]): string[] => [...previous, value];
/** Every command that writes TAP takes it. */
export const tapVersion = (): Option =>
  new Option('--tap-version <version>', "the TAP version written: 14, or 13 for harnesses that predate 14 (Debian 12's prove)")
    .choices([...TAP_VERSIONS])
    .default('14');
export const PUSHGATEWAY_HELP = "push the report's metrics (as -o openmetrics) to this Prometheus Pushgateway";
export const PORTS_HELP = 'also sweep raw TCP to these ports of each outside address: 22,8000-8100, top-100, top-1000 or all';

export function newProgram(): Command {
  return new Command('egress-verify')
    .description('Prove that a workload cannot reach the internet except through its egress companion.')
    .version(toolVersion, '--version')
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({ writeErr: (s) => process.stderr.write(s.split('\n')[0] ? `${s.split('\n')[0]}\n` : s) });
}

export function addProbeCommand(cli: Command): Command {
  cli
    .command('probe')
    .description('run a probe plan here (inside a probe pod) and print one JSON line per check')
    .option('--plan <file>', 'plan JSON file, or - for stdin (default: $EGRESS_VERIFY_PLAN)')
    .option('--companion <url>', 'expand the target catalogue for this companion (http://, socks5://, socks5h://)')
    .option('--companion-ca <file>', "PEM of the companion's interception CA")
    .option('--catalogue <file>', 'replace the default target catalogue (YAML)')
    .option('--extend <file>', 'add the targets of this catalogue (YAML); repeatable', collect, [])
    .option('--ports <ports>', PORTS_HELP)
    .option('--print-plan', 'print the plan and exit without probing', false)
    .addOption(new Option('-o, --output <format[=file]>', `output; repeatable (${FORMATS.join(', ')})`).argParser(collect).default([]))
    .addOption(tapVersion())
    .option('--termination-log <path>', 'also write a summary of at most 4 KiB here (e.g. /dev/termination-log)')
    .option('--settle-ms <ms>', "wait this long before the first check (a new pod's policy rules may lag)", '0')
    .option('--path-wait-ms <ms>', 'then wait up to this long for the companions and the names to resolve to answer', '0')
    .action(async (opts) => {
      // A probe lives seconds: V8's optimizing compiler, in background threads, spent a quarter
      // of its CPU on code it would run a handful of times. Set before its modules are loaded.
      setFlagsFromString('--no-opt');
      const { probeCommand } = await import('./commands/probe.js');
      process.exitCode = await probeCommand(opts);
    });
  return cli;
}

export async function runProgram(cli: Command, argv: string[]): Promise<void> {
  try {
    await cli.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit through here too, with code 0.
      process.exitCode = err.exitCode === 0 ? ExitCode.pass : ExitCode.usage;
      return;
    }
    log.debug({ err }, 'command failed');
    process.stderr.write(`${oneLine(err)}\n`);
    process.exitCode = err !== null && typeof err === 'object' && 'exitCode' in err ? (err.exitCode as number) : ExitCode.infrastructure;
  }
}
