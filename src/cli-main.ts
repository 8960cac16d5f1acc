/**
 * The whole CLI: every subcommand, `probe` included (a probe pod runs probe-main.ts instead).
 * Each subcommand loads its module when chosen: the Kubernetes client alone takes a second to
 * load, which an auditor's `evidence verify` should not pay.
 */
import { type Command, Option } from 'commander';
import { DEFAULT_COMPANION_CONCURRENCY } from '../probes/base/companion-budget.js';
import { AUDIT_FAIL_ON } from './audit/finding.js';
import { addProbeCommand, collect, newProgram, PORTS_HELP, PUSHGATEWAY_HELP, runProgram, tapVersion } from './cli-common.js';
import type { AuditOptions } from './commands/audit.js';
import { DEFAULT_HISTORY_LENGTH } from './history/history.js';
import { FORMATS } from './report/formats.js';

function program(): Command {
  const cli = addProbeCommand(newProgram());

  cli
    .command('run')
    .description('start probe pods that carry the workload identity and report what they could reach')
    .option('-n, --namespace <namespace>', "the workload's namespace")
    .option('-A, --all-namespaces', 'with -l: the matching workloads of every namespace', false)
    .option('--namespace-selector <selector>', 'with -l: the matching workloads of the namespaces with these labels')
    .option('-l, --selector <selector>', 'every workload whose pod template matches (kubectl -l syntax)')
    .option('--workload <kind/name>', 'the workload: deployment/NAME, statefulset/, daemonset/, cronjob/ or pod/; repeatable', collect, [])
    .option('--companion <url>', "the companion proxy (default: the workload's HTTPS_PROXY)")
    .option('--companion-ca <file|secret/NAME[:key]>', "PEM of the companion's interception CA")
    .option('--catalogue <file>', 'replace the default target catalogue (YAML)')
    .option('--extend <file>', 'add the targets of this catalogue (YAML); repeatable', collect, [])
    .option('--ports <ports>', PORTS_HELP)
    .option('--image <image>', 'probe image (default: $EGRESS_VERIFY_IMAGE, else the release image)')
    .option('--image-pull-policy <policy>', 'Always, IfNotPresent or Never', 'IfNotPresent')
    .option('--per-node', 'one probe pod per node that runs a pod of the workload', false)
    .option('--no-grouping', 'one probe pod per workload, even for workloads whose network twins are identical')
    .option(
      '--host-network-probe',
      "for a hostNetwork workload: probe on the node's network (where Pod Security allows it) instead of failing",
      false,
    )
    .option(
      '--in-pod',
      'probe as an ephemeral container inside a live pod of the workload (exact twin; stays in the pod spec until the pod is replaced)',
      false,
    )
    .option(
      '--control-namespace <namespace>',
      'a namespace no egress policy covers: a control pod there sends the must-fail checks directly, the control for UDP and internal targets',
    )
    .option('--receipts', "inspection receipts: a proxied request missing from the companion's log fails the run", false)
    .option(
      '--receipt-format <preset|regex>',
      "the companion's log format: mitmproxy (default), squid, envoy, or a regular expression with a (?<marker>...) group",
    )
    .option(
      '--companion-concurrency <tunnels>',
      'tunnels all probes of the run may hold through the companion at once; beyond that many probe pods, the next starts as one ends',
      String(DEFAULT_COMPANION_CONCURRENCY),
    )
    .option('--start-timeout <seconds>', 'how long a probe pod may take to start', '60')
    .option('--stale-after <seconds>', 'sweep probe pods of killed runs older than this', '600')
    .option('--settle <seconds>', "probe pods wait this long before dialling: the CNI's rules for a new pod can lag", '2')
    .option('--path-wait <seconds>', 'then wait up to this long for the companion and cluster DNS to answer (0: do not wait)', '20')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--context <name>', 'kubeconfig context')
    .addOption(
      new Option('-o, --output <format[=file]>', `output; repeatable (${FORMATS.join(', ')}); default: tap and json=REPORT_DIR/...`)
        .argParser(collect)
        .default([]),
    )
    .addOption(tapVersion())
    .option('--report-dir <dir>', 'where the default JSON report goes', 'reports')
    .option('--evidence <dir>', 'write a signed (or hash-chained) evidence bundle to this new directory')
    .option('--evidence-key <file|secret/NAME[:key]>', 'Ed25519 private key (PEM) that signs the bundle')
    .option('--record', 'record the outcome: Events on the workload, a history ConfigMap, a PolicyReport if served', false)
    .option('--history <runs>', 'with --record: how many runs the history ConfigMap keeps', String(DEFAULT_HISTORY_LENGTH))
    .option('--pushgateway <url>', PUSHGATEWAY_HELP)
    .action(async (opts) => {
      const [{ runCommand }, { parseRunSettings }, { processContext }] = await Promise.all([
        import('./commands/run.js'),
        import('./commands/run-settings.js'),
        import('./commands/run-context.js'),
      ]);
      const context = processContext();
      process.exitCode = await runCommand(parseRunSettings(opts, context), context);
    });

  cli
    .command('audit')
    .description('audit manifests (or a live namespace): is every workload egress-restricted to its companion?')
    .option(
      '-f, --file <file|dir|->',
      'manifest file, directory (recursive: *.yaml, *.yml, *.json) or - for stdin; repeatable',
      collect,
      [],
    )
    .option('-n, --namespace <namespace>', 'audit this live namespace through the API (read-only) instead of files')
    .option('--catalogue <file>', "read this catalogue's sanctioned exceptions (YAML): a direct path one covers is reported as sanctioned")
    .option('--extend <file>', 'add the exceptions of this catalogue (YAML); repeatable', collect, [])
    .option('--kubeconfig <file>', 'kubeconfig file, with -n')
    .option('--context <name>', 'kubeconfig context, with -n')
    .addOption(new Option('--fail-on <severity>', 'fail on findings at or above this severity').choices([...AUDIT_FAIL_ON]).default('high'))
    .addOption(
      new Option('-o, --output <format[=file]>', `output; repeatable (${FORMATS.join(', ')}); default: tap`).argParser(collect).default([]),
    )
    .addOption(tapVersion())
    .option('--pushgateway <url>', PUSHGATEWAY_HELP)
    .action(async (opts: AuditOptions) => {
      const { auditCommand } = await import('./commands/audit.js');
      process.exitCode = await auditCommand(opts);
    });

  const report = cli.command('report').description('work with JSON reports');
  report
    .command('render <report>')
    .description('render a JSON report as TAP, JUnit or JSON lines')
    .addOption(new Option('-o, --output <format[=file]>', `output; repeatable (${FORMATS.join(', ')})`).argParser(collect).default([]))
    .addOption(tapVersion())
    .action(async (file: string, opts: { output: string[]; tapVersion: string }) => {
      const { reportRenderCommand } = await import('./commands/report.js');
      process.exitCode = reportRenderCommand(file, opts.output, opts.tapVersion);
    });
  report
    .command('diff <old> <new>')
    .description('what changed between two run reports: new bypasses, fixed, became inconclusive')
    .addOption(
      new Option('-o, --output <format[=file]>', `render NEW with the changes instead (${FORMATS.join(', ')})`)
        .argParser(collect)
        .default([]),
    )
    .addOption(tapVersion())
    .action(async (oldFile: string, newFile: string, opts: { output: string[]; tapVersion: string }) => {
      const { reportDiffCommand } = await import('./commands/report.js');
      process.exitCode = reportDiffCommand(oldFile, newFile, opts.output, opts.tapVersion);
    });

  cli
    .command('evidence')
    .description('work with evidence bundles')
    .command('verify <dir>')
    .description("check an evidence bundle's hashes and signature; names every file changed, added or removed")
    .option('--key <pub.pem>', 'Ed25519 public key the bundle must be signed with')
    .option('--previous <dir>', 'the bundle accepted last: this one must follow it in the chain (catches a replay)')
    .action(async (dir: string, opts: { key?: string; previous?: string }) => {
      const { evidenceVerifyCommand } = await import('./commands/evidence.js');
      process.exitCode = evidenceVerifyCommand(dir, opts);
    });
  return cli;
}

await runProgram(program(), process.argv);
