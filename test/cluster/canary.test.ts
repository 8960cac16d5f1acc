/**
 * The enforcement canary on the lab cluster: the reference companion runs its policy addon
 * (DENY_PATTERN), so the canaries of test/cluster/canary.yaml pass; the same companion with the
 * addon off lets them through to the site: each a fail, and the run exits 1. The reference is
 * applied again at the end, which puts the addon back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { CheckResult } from '../../probes/base/model.js';
import {
  applyReference,
  type CliRun,
  exitIfClusterSkipped,
  probePods,
  REFERENCE_NS,
  REPO_ROOT,
  runEgressVerify,
  setCompanionEnv,
} from './cluster.js';

t.setTimeout(900_000);
exitIfClusterSkipped(t);

const scratch = mkdtempSync(join(tmpdir(), 'ev-canary-'));
const RUN = ['-n', REFERENCE_NS, '--workload', 'deployment/data-processor', '--extend', join(REPO_ROOT, 'test/cluster/canary.yaml')];
const CANARIES = ['canary/aws-key-in-header', 'canary/aws-key-in-query'];

applyReference();
t.teardown(() => {
  applyReference();
  rmSync(scratch, { recursive: true, force: true });
});

const lastLine = (r: CliRun): string => r.stderr.trim().split('\n').at(-1) ?? '';
const canaries = (r: CliRun): CheckResult[] => (r.report?.results ?? []).filter((x) => x.kind === 'canary');

t.test('the reference companion enforces its policy: every canary passes', async (t) => {
  const r = runEgressVerify(scratch, RUN);
  t.equal(r.code, 0, `exit 0: ${lastLine(r)}`);
  t.same(
    canaries(r)
      .map((x) => x.id)
      .sort(),
    CANARIES,
    'one result per canary',
  );
  for (const x of canaries(r)) {
    t.equal(x.verdict, 'pass', `${x.id}: ${x.observation.detail}`);
    t.match(x.observation.detail, /egress-guardian; error=http_request_denied/, "the companion's own signed refusal");
  }
  t.same(probePods(), [], 'no probe pod left behind');
});

t.test('the same companion without its policy lets the canaries through: fail', async (t) => {
  setCompanionEnv(['DENY_HOSTS-', 'DENY_PATTERN-']);
  const r = runEgressVerify(scratch, RUN);
  t.equal(r.code, 1, `exit 1: ${lastLine(r)}`);
  for (const x of canaries(r)) {
    t.equal(x.verdict, 'fail', `${x.id}: ${x.observation.detail}`);
    t.equal(x.observation.class, 'reached', 'the origin answered');
  }
  const others = (r.report?.results ?? []).filter((x) => x.kind !== 'canary' && x.verdict !== 'pass');
  t.same(
    others.map((x) => `${x.id} ${x.verdict}`),
    [],
    'only the canaries fail',
  );
  t.same(probePods(), [], 'no probe pod left behind');
});
