/**
 * Inspection receipts on the lab cluster: the reference run's every proxied request is in the
 * mitmproxy companion's log, read through pods/log; the same companion with its request log off
 * gives `inspection-not-logged`, which fails the run when receipts are asked for and is a warning
 * otherwise. The companion's log is put back on at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { applyReference, type CliRun, exitIfClusterSkipped, probePods, REFERENCE_NS, runEgressVerify, setCompanionEnv } from './cluster.js';

t.setTimeout(900_000);
exitIfClusterSkipped(t);

const scratch = mkdtempSync(join(tmpdir(), 'ev-receipts-'));
const WORKLOAD = ['-n', REFERENCE_NS, '--workload', 'deployment/data-processor'];

applyReference();
t.teardown(() => {
  setCompanionEnv(['FLOW_LOG-']);
  rmSync(scratch, { recursive: true, force: true });
});

const lastLine = (r: CliRun): string => r.stderr.trim().split('\n').at(-1) ?? '';
const receiptsOf = (r: CliRun): string[] => (r.report?.receipts ?? []).map((x) => `${x.check} ${x.status}`);

t.test('the reference run shows a receipt for every proxied request', async (t) => {
  const r = runEgressVerify(scratch, [...WORKLOAD, '--receipts']);
  t.equal(r.code, 0, `exit 0: ${lastLine(r)}`);
  const receipts = r.report?.receipts ?? [];
  t.ok(
    receipts.some((x) => x.check.startsWith('proxy-https/')) && receipts.some((x) => x.check.startsWith('proxy-env/')),
    `the site through the companion and the application's path are marked: ${receiptsOf(r).join(', ')}`,
  );
  for (const x of receipts) t.equal(x.status, 'seen', `${x.check}: ${x.marker} in the companion's log`);
  t.notOk(
    r.report?.findings?.some((f) => f.ruleId === 'inspection-not-logged'),
    'no inspection-not-logged',
  );
  t.same(probePods(), [], 'no probe pod left behind');
});

t.test("the companion's request log off: inspection-not-logged", async (t) => {
  setCompanionEnv(['FLOW_LOG=off']);
  const asked = runEgressVerify(scratch, [...WORKLOAD, '--receipts']);
  t.equal(asked.code, 1, `receipts asked for: exit 1 (${lastLine(asked)})`);
  t.match(asked.report?.findings, [
    { ruleId: 'inspection-not-logged', decides: 'fail', object: { kind: 'Service', name: 'egress-guardian-svc' } },
  ]);
  t.ok(
    (asked.report?.receipts ?? []).every((x) => x.status === 'unseen'),
    `every request went through and none is in the log: ${receiptsOf(asked).join(', ')}`,
  );
  t.ok(
    asked.report?.results.every((x) => x.verdict === 'pass'),
    'every check itself passes: only the receipt is missing',
  );
  const advised = runEgressVerify(scratch, WORKLOAD);
  t.equal(advised.code, 0, `not asked for: a warning, exit 0 (${lastLine(advised)})`);
  t.match(advised.report?.findings, [{ ruleId: 'inspection-not-logged', severity: 'low' }]);
  t.notOk(advised.report?.findings?.find((f) => f.ruleId === 'inspection-not-logged')?.decides, 'it does not decide the verdict');
});
