/**
 * Sanctioned exceptions on the lab cluster: a TLS-pinning workload (the article's isolated pod
 * with a direct egress exception) gets a NetworkPolicy that lets it reach the site's 443
 * directly. With the catalogue's exception for it, its direct checks to the site pass as
 * "reachable directly" and the exception is listed in the report and the evidence bundle; once
 * expired, the same path is a bypass again and the exception a finding. Everything it adds is
 * deleted at the end.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import t from 'tap';
import type { Report } from '../../src/report/report.js';
import {
  apply,
  type CliRun,
  exitIfClusterSkipped,
  kc,
  kubectl,
  LAB_CATALOGUE,
  OUTSIDE_IP,
  probePods,
  REFERENCE_NS,
  runEgressVerify,
  TOOLS_IMAGE,
} from './cluster.js';

t.setTimeout(600_000);
exitIfClusterSkipped(t);

const NAME = 'pinned-client';
const scratch = mkdtempSync(join(tmpdir(), 'ev-exceptions-'));
const SITE = `https://${OUTSIDE_IP}/`;

apply(`apiVersion: apps/v1
kind: Deployment
metadata: {name: ${NAME}, namespace: ${REFERENCE_NS}}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${NAME}}}
  template:
    metadata: {labels: {app: ${NAME}, role: agent-workload}}
    spec:
      terminationGracePeriodSeconds: 1
      securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: app
          image: ${TOOLS_IMAGE}
          imagePullPolicy: Never
          command: [sleep, '86400']
          env:
            - {name: HTTPS_PROXY, value: 'http://egress-guardian-svc:8080'}
            - {name: NO_PROXY, value: 'localhost,127.0.0.1,.cluster.local'}
          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ${NAME}-direct, namespace: ${REFERENCE_NS}}
spec:
  podSelector: {matchLabels: {app: ${NAME}}}
  policyTypes: [Egress]
  egress:
    - to: [{ipBlock: {cidr: ${OUTSIDE_IP}/32}}]
      ports: [{port: 443, protocol: TCP}]
`);
t.teardown(() => {
  kubectl(
    [
      '-n',
      REFERENCE_NS,
      'delete',
      // One TYPE/NAME per object: `delete deployment A networkpolicy B` would read every word
      // after the first type as a deployment name and leave the policy behind.
      `deployment/${NAME}`,
      `networkpolicy/${NAME}-direct`,
      '--ignore-not-found',
      '--wait=true',
      '--timeout=90s',
    ],
    {
      timeoutMs: 100_000,
    },
  );
  rmSync(scratch, { recursive: true, force: true });
});
kc(['-n', REFERENCE_NS, 'rollout', 'status', `deployment/${NAME}`, '--timeout=120s'], { timeoutMs: 130_000 });

function catalogueWith(expires: string): string {
  const file = join(scratch, `catalogue-${expires}.yaml`);
  const base = load(readFileSync(LAB_CATALOGUE, 'utf8')) as Record<string, unknown>;
  writeFileSync(
    file,
    dump({
      ...base,
      exceptions: [{ workload: `deployment/${NAME}`, url: SITE, reason: 'pins its TLS certificate: isolated pod, direct egress', expires }],
    }),
  );
  return file;
}

const lastLine = (r: CliRun): string => r.stderr.trim().split('\n').at(-1) ?? '';
const DIRECT = ['curl/env-cleared/site', 'curl/noproxy/site', `tcp/site/${OUTSIDE_IP}:443`];

t.test('an active exception: the direct path passes as sanctioned, and is listed in the report and the evidence', async (t) => {
  const bundle = join(scratch, 'bundle');
  const r = runEgressVerify(scratch, [
    '-n',
    REFERENCE_NS,
    '--workload',
    `deployment/${NAME}`,
    '--catalogue',
    catalogueWith('2999-12-31'),
    '--evidence',
    bundle,
  ]);
  t.equal(r.code, 0, `exit 0: ${lastLine(r)}`);
  t.match(r.report?.exceptions, [{ workload: `deployment/${NAME}`, url: SITE, status: 'active', checks: DIRECT }]);
  for (const id of DIRECT)
    t.match(
      r.report?.results.find((x) => x.id === id),
      { expect: 'reachable', verdict: 'pass' },
      `${id}: reachable directly, as sanctioned`,
    );
  const rules = (r.report?.findings ?? []).map((f) => f.ruleId);
  t.ok(rules.includes('exception-sanctioned'), "the live audit sanctions the policy's hole, naming the exception");
  t.notOk(rules.includes('direct-egress-allowed'), 'and does not report it as an unsanctioned path');
  const sealed = JSON.parse(readFileSync(join(bundle, 'report.json'), 'utf8')) as Report;
  t.same(sealed.exceptions, r.report?.exceptions, 'the evidence bundle lists it');
  t.same(probePods(), [], 'no probe pod left behind');
});

t.test('the same exception expired: flagged, and the open path is a bypass again', async (t) => {
  const r = runEgressVerify(scratch, ['-n', REFERENCE_NS, '--workload', `deployment/${NAME}`, '--catalogue', catalogueWith('2020-01-31')]);
  t.equal(r.code, 1, `exit 1: ${lastLine(r)}`);
  t.match(r.report?.exceptions, [{ status: 'expired', expires: '2020-01-31' }]);
  t.match(
    r.report?.findings?.find((f) => f.ruleId === 'exception-expired'),
    { object: { kind: 'Deployment', name: NAME } },
    'the expired exception is a finding on its workload',
  );
  const rules = (r.report?.findings ?? []).map((f) => f.ruleId);
  t.equal(rules.filter((id) => id === 'exception-expired').length, 1, 'reported once, not again by the live audit');
  t.ok(rules.includes('direct-egress-allowed'), "the policy's hole is unsanctioned again");
  for (const id of DIRECT)
    t.match(
      r.report?.results.find((x) => x.id === id),
      { expect: 'blocked', verdict: 'fail' },
      `${id}: a bypass`,
    );
});
