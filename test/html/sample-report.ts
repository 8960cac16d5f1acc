// A realistic `run` report: the reference architecture probed from two pods on two nodes, where
// node-b lets curl out directly (a bypass), one check errors there, and UDP stays unproven.
import type { CheckResult, Expectation, Observation, Verdict } from '../../probes/base/model.js';
import { diffRuns, runVerdicts } from '../../src/report/diff.js';
import { buildReport, type RunReport } from '../../src/report/report.js';

export const PODS = [
  { name: 'egress-verify-7f3c9-node-a-x2k8p', node: 'node-a', outcome: 'exited 1' },
  { name: 'egress-verify-7f3c9-node-b-q9m4t', node: 'node-b', outcome: 'exited 1' },
] as const;

const COMPANION = 'http://egress-guardian-svc.production-agents.svc.cluster.local:8080';

interface Spec {
  id: string;
  kind: CheckResult['kind'];
  expect: Expectation;
  target: string;
  control?: string;
  /** Per pod, in PODS order; absent: not run on that pod. */
  runs: (Run | undefined)[];
}

type Run = [Verdict, string, Observation];
const onBoth = (run: Run): Run[] => [run, run];

const obs = (
  outcome: Observation['outcome'],
  cls: Observation['class'],
  durationMs: number,
  detail: string,
  extra: Partial<Observation> = {},
) => ({
  outcome,
  class: cls,
  durationMs,
  detail,
  ...extra,
});

const blockedByControl = 'blocked, and the same target is reachable through the companion';
const SPECS: Spec[] = [
  {
    id: 'dns/resolve/egress-guardian-svc.production-agents.svc.cluster.local',
    kind: 'dns',
    expect: 'reachable',
    target: 'egress-guardian-svc.production-agents.svc.cluster.local',
    runs: [
      ['pass', 'reachable the allowed way', obs('answered', 'reached', 4, 'A 10.96.114.7', { facts: { address: '10.96.114.7' } })],
      ['pass', 'reachable the allowed way', obs('answered', 'reached', 6, 'A 10.96.114.7', { facts: { address: '10.96.114.7' } })],
    ],
  },
  {
    id: 'proxy-https/site',
    kind: 'proxy-https',
    expect: 'reachable',
    target: 'https://203.0.113.10/',
    runs: [
      [
        'pass',
        'reachable the allowed way',
        obs('http-response', 'reached', 182, 'HTTP 200 through the companion', {
          facts: { status: 200, issuer: 'CN=egress-guardian interception CA', intercepted: true },
        }),
      ],
      [
        'pass',
        'reachable the allowed way',
        obs('http-response', 'reached', 205, 'HTTP 200 through the companion', {
          facts: { status: 200, issuer: "CN=R11, O=Let's Encrypt" },
          finding: {
            code: 'interception-unverified',
            failing: false,
            message: "the companion's CA was not given: TLS interception is not verified",
          },
        }),
      ],
    ],
  },
  {
    id: 'curl/env-cleared/site',
    kind: 'curl',
    expect: 'blocked',
    target: 'https://203.0.113.10/',
    control: 'proxy-https/site',
    runs: [
      [
        'pass',
        blockedByControl,
        obs('timeout', 'blocked', 3001, 'curl exit 28: Connection timed out after 3000 ms', { facts: { curlExit: 28 } }),
      ],
      [
        'fail',
        'bypass: the target answered on a path that must be blocked',
        obs('http-response', 'reached', 41, 'HTTP 200 from 203.0.113.10 without the companion', { facts: { curlExit: 0, status: 200 } }),
      ],
    ],
  },
  {
    id: 'curl/noproxy/site',
    kind: 'curl',
    expect: 'blocked',
    target: 'https://203.0.113.10/',
    control: 'proxy-https/site',
    runs: onBoth(['pass', blockedByControl, obs('timeout', 'blocked', 3002, 'curl exit 28: Connection timed out after 3000 ms')]),
  },
  {
    id: 'tcp/site/203.0.113.10:443',
    kind: 'tcp',
    expect: 'blocked',
    target: '203.0.113.10:443/tcp',
    control: 'proxy-https/site',
    runs: onBoth(['pass', blockedByControl, obs('timeout', 'blocked', 3000, 'no handshake within 3000 ms')]),
  },
  {
    id: 'udp/site/203.0.113.10:443',
    kind: 'udp',
    expect: 'blocked',
    target: '203.0.113.10:443/udp',
    control: 'proxy-https/site',
    runs: onBoth([
      'inconclusive',
      'refused, but the control reached another port: a closed port looks the same as a reject',
      obs('refused', 'blocked', 2, 'ICMP port unreachable', { error: 'ECONNREFUSED' }),
    ]),
  },
  {
    id: 'dns/direct/198.51.100.53:53/udp',
    kind: 'dns',
    expect: 'blocked',
    target: '198.51.100.53:53/udp',
    control: 'proxy-connect/198.51.100.53:53',
    runs: [
      ['pass', blockedByControl, obs('timeout', 'blocked', 3000, 'no answer within 3000 ms')],
      [
        'error',
        'the probe could not run the check',
        obs('probe-error', 'error', 0, 'socket: EMFILE: too many open files', { error: 'EMFILE' }),
      ],
    ],
  },
  {
    id: 'dns/direct/198.51.100.53:853/tls',
    kind: 'dns',
    expect: 'blocked',
    target: '198.51.100.53:853/tls',
    control: 'proxy-connect/198.51.100.53:53',
    runs: [['pass', blockedByControl, obs('timeout', 'blocked', 3000, 'no TLS handshake within 3000 ms')], undefined],
  },
];

function results(): CheckResult[] {
  return PODS.flatMap((pod, p) =>
    SPECS.flatMap(({ runs, ...spec }): CheckResult[] => {
      const run = runs[p];
      if (!run) return [];
      const [verdict, reason, observation] = run;
      return [
        {
          ...spec,
          verdict,
          reason,
          observation,
          ...(observation.finding && { finding: observation.finding }),
          pod: pod.name,
          node: pod.node,
        },
      ];
    }),
  );
}

export function sampleRunReport(): RunReport {
  const all = results();
  const report = buildReport('run', all, new Date('2026-11-27T09:14:03Z'), new Date('2026-11-27T09:14:41Z'));
  // The previous recorded run: node-b still blocked curl, and TCP 443 was a bypass then.
  const before = runVerdicts({
    ...report,
    startedAt: '2026-11-26T09:14:02.000Z',
    verdict: 'fail',
    subject: { runId: 'ev-1b7e0' },
    results: all.map((r) =>
      r.id === 'curl/env-cleared/site' || r.id === 'dns/direct/198.51.100.53:53/udp'
        ? { ...r, verdict: 'pass' }
        : r.id === 'tcp/site/203.0.113.10:443'
          ? { ...r, verdict: 'fail' }
          : r,
    ),
  });
  const subject = {
    cluster: 'https://10.0.0.1:6443',
    namespace: 'production-agents',
    workload: 'deployment/data-processor',
    runId: 'ev-7f3c9',
    companion: COMPANION,
    image: 'localhost/egress-verify-probe:0.1.0',
    imageId: 'sha256:5d1c0a3e9b2f47d8c6a1e0f9b3d2c4a5e6f708192a3b4c5d6e7f8091a2b3c4d5',
    pods: PODS.map((p) => ({ ...p })),
    networkPolicies: [
      {
        name: 'allow-companion-internet',
        resourceVersion: '48211',
        spec: {
          podSelector: { matchLabels: { app: 'egress-guardian' } },
          policyTypes: ['Egress'],
          egress: [
            {
              to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] } }],
              ports: [
                { port: 80, protocol: 'TCP' },
                { port: 443, protocol: 'TCP' },
              ],
            },
          ],
        },
      },
      {
        name: 'restrict-workload-egress',
        resourceVersion: '48213',
        spec: {
          podSelector: { matchLabels: { role: 'agent-workload' } },
          policyTypes: ['Egress'],
          egress: [
            { to: [{ podSelector: { matchLabels: { app: 'egress-guardian' } } }], ports: [{ port: 8080, protocol: 'TCP' }] },
            {
              to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
              ports: [
                { port: 53, protocol: 'UDP' },
                { port: 53, protocol: 'TCP' },
              ],
            },
          ],
        },
      },
    ],
  };
  return {
    ...report,
    subject,
    warnings: ['node node-b runs kube-router v2.1.0, older than the tested v2.4: NetworkPolicy support may differ'],
    findings: [
      {
        ruleId: 'proxy-advisory-only',
        severity: 'high',
        message: 'Deployment legacy-batch sets HTTPS_PROXY but no Egress NetworkPolicy selects its pods',
        fix: 'Add an Egress NetworkPolicy selecting these pods that admits only the companion and DNS.',
        object: { kind: 'Deployment', namespace: 'production-agents', name: 'legacy-batch' },
      },
      {
        ruleId: 'dns-udp-only',
        severity: 'low',
        message: 'restrict-workload-egress admits UDP 53 but not TCP 53 for role=batch',
        fix: 'Admit TCP 53 to the cluster DNS pods as well as UDP 53.',
        object: { kind: 'NetworkPolicy', namespace: 'production-agents', name: 'restrict-batch-egress' },
        location: { file: 'manifests/batch/policy.yaml', line: 12 },
      },
    ],
    changes: diffRuns(before, runVerdicts({ ...report, subject })),
  };
}
