/**
 * Real companions on the lab cluster: the article's architecture with its mitmproxy swapped for
 * another egress scanner (lab/cluster/apply-reference.sh with EV_COMPANION). Deployed as the
 * article deploys it, each gives the exit its path earns (DEPLOYED_EXIT); refusing the site, a
 * failure, never a pass. CI runs Squid with ssl-bump, the most common intercepting proxy; EV_CLUSTER_COMPANIONS
 * names others ("squid-bump squid smokescreen tinyproxy"), with their results in docs/cluster.md.
 * mitmproxy is put back at the end.
 *
 * The catalogue names the site (paired with its address, which the direct checks dial): Squid
 * checks a server's certificate against DNS names only, so a bumped CONNECT to an address never
 * verifies. The control pod proves the internal target, the site's echo, and the resolver's ports,
 * which stock Squid refuses to tunnel to (its control-only check is then moot, not inconclusive).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import t from 'tap';
import {
  applyReference,
  type CliRun,
  CONTROL_NS,
  exitIfClusterSkipped,
  installControlNamespace,
  kc,
  LAB_RUN_BASE,
  OUTSIDE_IP,
  OUTSIDE_NAME,
  probePods,
  REFERENCE_NS,
  runCli,
} from './cluster.js';

t.setTimeout(900_000);
exitIfClusterSkipped(t);

/** Those that terminate TLS with the companion CA; the others tunnel it, so the run names no CA. */
const INTERCEPTING = new Set(['squid-bump']);
/**
 * The exit code deployed as the article deploys it (docs/cluster.md, "Real companions on the cluster"): a
 * tunnelling Squid shows the site's own certificate, which the probe pod does not trust (1);
 * Smokescreen and tinyproxy resolve with the pod's resolver, which the article's policy blocks (3).
 */
const DEPLOYED_EXIT: Record<string, number> = { 'squid-bump': 0, squid: 1, smokescreen: 3, tinyproxy: 3 };
const KINDS = (process.env.EV_CLUSTER_COMPANIONS ?? 'squid-bump').split(/[\s,]+/).filter(Boolean);
const SITE_URL = `https://${OUTSIDE_NAME}/`;
const scratch = mkdtempSync(join(tmpdir(), 'ev-companions-'));
const catalogue = join(scratch, 'catalogue.yaml');
writeFileSync(
  catalogue,
  dump({
    version: 1,
    deadlineMs: 3000,
    outside: [{ name: 'site', url: SITE_URL, address: OUTSIDE_IP, tcpPorts: [443], icmp: true }],
    resolvers: [{ address: '198.51.100.53', transports: ['udp', 'tcp'] }],
    queryName: 'site.egress-lab.test',
    clusterNames: ['kubernetes.default.svc.cluster.local'],
    internal: [{ name: 'api-server', host: '10.96.0.1', port: 443 }],
    application: [SITE_URL],
  }),
);

const removeControlNamespace = installControlNamespace();
t.teardown(() => {
  applyReference();
  removeControlNamespace();
  rmSync(scratch, { recursive: true, force: true });
});

/** The run on the reference workload; a tunnelling companion signs nothing, so no companion CA is named. */
function probe(kind: string): CliRun {
  const at = LAB_RUN_BASE.indexOf('--companion-ca');
  const base = INTERCEPTING.has(kind) || at < 0 ? LAB_RUN_BASE : [...LAB_RUN_BASE.slice(0, at), ...LAB_RUN_BASE.slice(at + 2)];
  const args = ['-n', REFERENCE_NS, '--workload', 'deployment/data-processor', '--catalogue', catalogue, '--control-namespace', CONTROL_NS];
  return runCli([...base, ...args], scratch);
}

const lastLine = (r: CliRun): string => r.stderr.trim().split('\n').at(-1) ?? '';
const notPassed = (r: CliRun): string =>
  (r.report?.results ?? [])
    .filter((x) => x.verdict !== 'pass')
    .map((x) => `${x.id}: ${x.verdict} (${x.reason}; ${x.observation.detail})`)
    .join('\n');

for (const kind of KINDS) {
  const want = DEPLOYED_EXIT[kind] ?? 0;
  t.test(`${kind} as the article deploys its companion: exit ${want}`, async (t) => {
    applyReference({ EV_COMPANION: kind });
    t.match(
      kc(['-n', REFERENCE_NS, 'get', 'deployment/egress-guardian', '-o', 'jsonpath={.spec.template.spec.containers[0].env}']),
      new RegExp(`"value":"${kind}"`),
      `the companion is ${kind}`,
    );
    const r = probe(kind);
    t.equal(r.code, want, `exit ${want}: ${lastLine(r)}\n${notPassed(r)}`);
    const sources = new Set(r.report?.results.filter((x) => x.expect === 'blocked').map((x) => x.controlSource));
    // The control pod dials the same address, port and protocol: its proof wins over the companion's.
    t.same([...sources], ['control-pod'], 'every block proven by the control pod');
    t.same(probePods(), [], 'no probe pod left behind');
  });

  t.test(`${kind} refusing the site: the run fails, never passes`, async (t) => {
    applyReference({ EV_COMPANION: kind, EV_COMPANION_DENY: OUTSIDE_NAME });
    const r = probe(kind);
    t.equal(r.code, 1, `exit 1: ${lastLine(r)}`);
    const app = r.report?.results.find((x) => x.kind === 'proxy-env');
    t.match(app, { verdict: 'fail' }, `the application's own path fails: ${app?.observation.detail}`);
    t.notOk(
      r.report?.results.some((x) => x.expect === 'blocked' && x.verdict === 'pass' && x.controlSource === 'companion'),
      'no block is proven by a companion that refuses the site',
    );
  });
}
