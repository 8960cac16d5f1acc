/**
 * `--ports` on the lab cluster: the outside host answers on every TCP port (lab/cluster/world.sh),
 * and the example, an extra rule opening TCP 8443 to 0.0.0.0/0 for role: agent-workload,
 * must fail with the port named, while the article's policies alone find no open port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import t from 'tap';
import { apply, exitIfClusterSkipped, kubectl, LAB_RUN_ARGS, probePods, REFERENCE_NS, runCli, sleep } from './cluster.js';

t.setTimeout(600_000);
exitIfClusterSkipped(t);

const scratch = mkdtempSync(join(tmpdir(), 'ev-ports-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
// Few ports keep CI short; the sweep's bounds are unit- and lab-tested.
const PORTS = '8000-8010,8443,9000';
const sweep = () =>
  runCli([...LAB_RUN_ARGS, '-n', REFERENCE_NS, '--workload', 'deployment/data-processor', '--ports', PORTS], scratch, 240_000);
const sweepResult = (r: ReturnType<typeof sweep>) => r.report?.results.find((x) => x.kind === 'tcp-sweep');

t.test("the article's policies: no open port", async (t) => {
  const r = sweep();
  const result = sweepResult(r);
  t.ok(result, 'the report has the sweep');
  t.not(result?.verdict, 'fail', `${result?.reason}`);
  t.not(result?.verdict, 'error', `${result?.reason}`);
  t.comment(`sweep: ${result?.verdict}: ${result?.reason}`);
  t.same(probePods(), []);
});

t.test('an extra rule opening TCP 8443 to 0.0.0.0/0 fails, naming the port', async (t) => {
  const extra = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'ev-test-open-8443', namespace: REFERENCE_NS },
    spec: {
      podSelector: { matchLabels: { role: 'agent-workload' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 8443, protocol: 'TCP' }] }],
    },
  };
  apply(dump(extra));
  t.teardown(() => kubectl(['-n', REFERENCE_NS, 'delete', 'networkpolicy', 'ev-test-open-8443', '--ignore-not-found']));
  await sleep(3000); // kube-router applies policy changes asynchronously
  const r = sweep();
  t.equal(r.code, 1, 'exit 1: a bypass');
  const result = sweepResult(r);
  t.equal(result?.verdict, 'fail');
  t.match(result?.reason, /^open TCP port\(s\) 8443: fail 8443 \(bypass/, 'the open port is named');
  t.notMatch(result?.reason, /fail [0-9, ]*(8000|8010|9000)/, 'and only it');
  t.match(r.stdout, /not ok \d+ - tcp-sweep\/203\.0\.113\.10/);
});
