import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { DEFAULT_IMAGE, parseRunSettings, type RunOptions } from './run-settings.js';

const options = (extra: Partial<RunOptions> = {}): RunOptions => ({
  namespace: 'production-agents',
  allNamespaces: false,
  workload: ['deployment/data-processor'],
  extend: [],
  imagePullPolicy: 'Never',
  perNode: false,
  grouping: true,
  hostNetworkProbe: false,
  inPod: false,
  companionConcurrency: '32',
  startTimeout: '30s',
  staleAfter: '600',
  settle: '0',
  pathWait: '0',
  output: [],
  reportDir: 'reports',
  record: false,
  history: '10',
  receipts: false,
  ...extra,
});
const at = new Date('2026-12-01T03:04:05.678Z');

t.test('the settings come from the options and the context, never from the process', async (t) => {
  const s = parseRunSettings(options(), { env: { EGRESS_VERIFY_IMAGE: 'localhost/egress-verify:dev' }, now: () => at });
  t.same(s.scope, { namespace: 'production-agents' });
  t.same(s.workloads, [{ kind: 'deployment', name: 'data-processor' }]);
  t.equal(s.image, 'localhost/egress-verify:dev', '$EGRESS_VERIFY_IMAGE from the context');
  t.equal(s.imagePullPolicy, 'Never');
  t.same([s.startTimeoutMs, s.staleAfterMs, s.settleMs], [30_000, 600_000, 0]);
  t.equal(s.startedAt, at);
  t.same(
    s.outputs.map((o) => o.file),
    [undefined, join('reports', 'egress-verify-run-2026-12-01T03-04-05-678Z.json')],
    'TAP on stdout and the JSON report named by the context clock',
  );
  t.same([s.record, s.historyLength, s.evidence, s.pushgateway], [false, 10, undefined, undefined]);
  t.equal(parseRunSettings(options({ image: 'img:1' }), { env: { EGRESS_VERIFY_IMAGE: 'x' }, now: () => at }).image, 'img:1');
  t.equal(parseRunSettings(options(), { env: {}, now: () => at }).image, DEFAULT_IMAGE);
});

t.test('a Secret named for the CA or the key is kept to read in the cluster', async (t) => {
  const scratch = mkdtempSync(join(tmpdir(), 'ev-settings-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  const bundle = join(scratch, 'bundle');
  const s = parseRunSettings(options({ companionCa: 'secret/egress-ca', evidence: bundle, evidenceKey: 'secret/ev-key:key' }), {
    env: {},
    now: () => at,
  });
  t.equal(s.companionCaSecret, 'secret/egress-ca');
  t.equal(s.companionCaPem, undefined);
  t.same(s.evidence, { dir: bundle, keySecret: 'secret/ev-key:key' });
});
