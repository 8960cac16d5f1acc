import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { SanctionedException } from '../../probes/exceptions.js';
import { cli } from '../../test/cli.js';
import { auditObjects } from './audit.js';
import { sanctionsAt } from './inventory.js';
import { parseManifests } from './manifests.js';

const TODAY = new Date('2026-06-01T00:00:00Z');

/** A restricted workload whose policy also admits `to` on `ports`, plus the companion and DNS rules. */
function manifests(to: string, ports: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: pinned, namespace: apps}
spec:
  template:
    metadata: {labels: {app: pinned}}
    spec:
      containers: [{name: app, image: app, env: [{name: HTTPS_PROXY, value: "http://guard:8080"}, {name: NO_PROXY, value: ".cluster.local,.svc"}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: pinned-direct, namespace: apps}
spec:
  podSelector: {matchLabels: {app: pinned}}
  policyTypes: [Egress]
  egress:
    - to: [${to}]
      ports: ${ports}
    - to: [{podSelector: {matchLabels: {app: guard}}}]
      ports: [{port: 8080}]
    - to: [{namespaceSelector: {}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
      ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: guard, namespace: apps}
spec:
  replicas: 2
  template:
    metadata: {labels: {app: guard}}
    spec: {containers: [{name: proxy, image: mitmproxy, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: guard, namespace: apps}
spec: {selector: {app: guard}, ports: [{port: 8080}]}
`;
}

const exception = (over: Partial<SanctionedException> = {}): SanctionedException => ({
  workload: 'deployment/pinned',
  url: 'https://203.0.113.10/',
  reason: 'pins its TLS certificate',
  expires: '2026-12-31',
  ...over,
});

/** The direct-path findings, as "rule severity". */
function judged(to: string, ports: string, exceptions: SanctionedException[] = [exception()]): string[] {
  return auditObjects(parseManifests('m.yaml', manifests(to, ports)).objects, sanctionsAt(exceptions, TODAY))
    .filter((f) => ['direct-egress-allowed', 'exception-sanctioned', 'exception-expired', 'wide-egress'].includes(f.ruleId))
    .map((f) => `${f.ruleId} ${f.severity}`);
}

const ONE = '{ipBlock: {cidr: 203.0.113.10/32}}';
const P443 = '[{port: 443, protocol: TCP}]';

t.test('a direct path the exception names exactly is sanctioned: info, naming the exception', async (t) => {
  t.same(judged(ONE, P443), ['exception-sanctioned info']);
  const [finding] = auditObjects(parseManifests('m.yaml', manifests(ONE, P443)).objects, sanctionsAt([exception()], TODAY)).filter(
    (f) => f.ruleId === 'exception-sanctioned',
  );
  t.match(finding, {
    object: { kind: 'NetworkPolicy', name: 'pinned-direct' },
    message:
      /deployment\/pinned reach 203\.0\.113\.10\/32 on TCP 443 directly.*sanctioned by the exception for deployment\/pinned to https:\/\/203\.0\.113\.10\/ \("pins its TLS certificate", until 2026-12-31\)/,
  });
  t.same(judged(ONE, '[{port: 443}]'), ['exception-sanctioned info'], 'TCP is the default protocol');
  t.same(judged(ONE, P443, [exception({ url: 'https://203.0.113.10:443/x' })]), ['exception-sanctioned info']);
});

t.test('a hole no exception covers stays a finding at its usual severity', async (t) => {
  t.same(judged(ONE, P443, []), ['direct-egress-allowed high'], 'no exception');
  t.same(judged(ONE, P443, [exception({ workload: 'deployment/other' })]), ['direct-egress-allowed high'], 'another workload');
  t.same(judged(ONE, P443, [exception({ url: 'https://203.0.113.11/' })]), ['direct-egress-allowed high'], 'another address');
  t.same(judged(ONE, P443, [exception({ url: 'https://pinned.example/' })]), ['direct-egress-allowed high'], 'a name is no address');
  t.same(judged('{ipBlock: {cidr: 8.8.8.8/32}}, {podSelector: {}}', P443), ['direct-egress-allowed high'], 'another peer');
});

t.test('a sanction never widens: a rule that opens more than the exception is a finding', async (t) => {
  t.same(judged('{ipBlock: {cidr: 0.0.0.0/0}}', P443), ['wide-egress critical'], '0.0.0.0/0:443 is wide, not sanctioned');
  t.same(judged('{ipBlock: {cidr: 203.0.113.0/24}}', P443), ['direct-egress-allowed high'], 'a /24 around the address');
  t.same(judged(ONE, '[{port: 443}, {port: 80}]'), ['direct-egress-allowed high'], 'a second port');
  t.same(
    judged(ONE, '[{port: 443}, {port: 6443}]', [exception(), exception({ url: 'https://203.0.113.10:6443/' })]),
    ['exception-sanctioned info'],
    'two ports, each named by an exception',
  );
  t.same(judged(ONE, '[{port: 443, endPort: 444}]'), ['direct-egress-allowed high'], 'a port range');
  t.same(judged(ONE, '[{port: 443, protocol: UDP}]'), ['direct-egress-allowed high'], 'UDP');
  t.same(judged(ONE, '[]'), ['direct-egress-allowed high'], 'every port');
  t.same(
    judged(`${ONE}, {ipBlock: {cidr: 198.51.100.7/32}}`, P443),
    ['direct-egress-allowed high', 'exception-sanctioned info'],
    'each address apart',
  );
});

t.test('an expired exception is a finding and sanctions nothing', async (t) => {
  const expired = exception({ expires: '2026-05-31' });
  t.same(judged(ONE, P443, [expired]), ['exception-expired medium', 'direct-egress-allowed high']);
  const findings = auditObjects(parseManifests('m.yaml', manifests(ONE, P443)).objects, sanctionsAt([expired], TODAY));
  t.match(
    findings.find((f) => f.ruleId === 'direct-egress-allowed')?.message,
    /the exception for deployment\/pinned .* covered it and has expired/,
  );
  t.match(
    findings.find((f) => f.ruleId === 'exception-expired'),
    {
      object: { kind: 'Deployment', name: 'pinned' },
      message: /expired on 2026-05-31/,
    },
  );
  t.same(judged(ONE, P443, [exception({ expires: '2026-06-01' })]), ['exception-sanctioned info'], 'it holds through its last day');
  t.same(
    judged(ONE, P443, [exception({ workload: 'deployment/gone', expires: '2020-01-01' })]),
    ['direct-egress-allowed high'],
    'a workload not audited',
  );
});

t.test('internal addresses are no direct path; IPv6 is matched in any spelling', async (t) => {
  for (const cidr of ['10.1.2.3/32', '172.16.0.0/12', '192.168.1.0/24', '169.254.169.254/32', 'fd00::/8', 'fe80::/64'])
    t.same(judged(`{ipBlock: {cidr: ${cidr}}}`, P443, []), [], cidr);
  const v6 = exception({ url: 'https://[2001:DB8::0:10]/' });
  t.same(judged('{ipBlock: {cidr: "2001:db8::10/128"}}', P443, [v6]), ['exception-sanctioned info']);
  t.same(judged('{ipBlock: {cidr: "2001:db8::/64"}}', P443, [v6]), ['direct-egress-allowed high']);
});

t.test('CLI: audit reads the exceptions through --catalogue, as run does; a bad catalogue is exit 2', async (t) => {
  t.setTimeout(600_000);
  const dir = mkdtempSync(join(tmpdir(), 'ev-sanction-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fixture = 'test/fixtures/audit/broken/exception-expired.yaml';
  const expired = 'test/fixtures/audit/broken/exception-expired.catalogue.yaml';
  const active = join(dir, 'active.yaml');
  writeFileSync(active, readFileSync(expired, 'utf8').replace('expires: 2020-01-31', 'expires: 2999-12-31'));
  type Json = { verdict: string; findings: { ruleId: string; severity: string }[] };
  const rules = (stdout: string): string[] => (JSON.parse(stdout) as Json).findings.map((f) => `${f.ruleId} ${f.severity}`);

  const sanctioned = cli(['audit', '-f', fixture, '--catalogue', active, '-o', 'json']);
  t.equal(sanctioned.status, 0, sanctioned.stderr);
  t.ok(rules(sanctioned.stdout).includes('exception-sanctioned info'));
  t.notOk(rules(sanctioned.stdout).some((r) => r.startsWith('direct-egress-allowed')));

  const lapsed = cli(['audit', '-f', fixture, '--catalogue', expired, '-o', 'json']);
  t.equal(lapsed.status, 1, lapsed.stderr);
  t.ok(rules(lapsed.stdout).includes('exception-expired medium'));
  t.ok(rules(lapsed.stdout).includes('direct-egress-allowed high'));

  const none = cli(['audit', '-f', fixture, '-o', 'json']);
  t.equal(none.status, 1, 'without --catalogue the path is a finding');

  writeFileSync(join(dir, 'bad.yaml'), 'version: 1\nexceptions: [{workload: deployment/x}]\n');
  for (const bad of [join(dir, 'bad.yaml'), join(dir, 'missing.yaml')]) {
    const r = cli(['audit', '-f', fixture, '--catalogue', bad]);
    t.equal(r.status, 2, r.stderr);
    t.equal(r.stdout, '');
    t.match(r.stderr, /^egress-verify: [^\n]*\n$/, 'one line');
  }
});
