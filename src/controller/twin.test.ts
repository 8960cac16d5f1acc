import type { V1Pod, V1PodTemplateSpec } from '@kubernetes/client-node';
import t from 'tap';
import { admissionFindings, admittedDifferences, inPodTwin, liveDifferences, networkTwin, twinFindings, twinPlacement } from './twin.js';

const reference: V1PodTemplateSpec = {
  metadata: { labels: { app: 'data-processor' } },
  spec: { containers: [{ name: 'app', image: 'tools' }] },
};

const everything: V1PodTemplateSpec = {
  metadata: {
    labels: { app: 'data-processor' },
    annotations: {
      'k8s.v1.cni.cncf.io/networks': 'macvlan-conf',
      'cni.projectcalico.org/ipv4pools': '["egress-pool"]',
      'cni.projectcalico.org/ipAddrs': '["10.96.0.50"]',
      'cni.projectcalico.org/floatingIPs': '["10.0.0.1"]',
      'example.com/unrelated': 'x',
    },
  },
  spec: {
    hostNetwork: true,
    dnsPolicy: 'ClusterFirstWithHostNet',
    dnsConfig: { options: [{ name: 'ndots', value: '1' }] },
    hostAliases: [{ ip: '203.0.113.10', hostnames: ['outside.example'] }],
    runtimeClassName: 'gvisor',
    nodeSelector: { pool: 'agents' },
    tolerations: [{ key: 'agents', operator: 'Exists', effect: 'NoSchedule' }],
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }],
        },
      },
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: {} }],
      },
    },
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule' }],
    initContainers: [
      { name: 'istio-init', image: 'proxyv2' },
      { name: 'routes', image: 'tools', securityContext: { capabilities: { add: ['NET_ADMIN'] } } },
    ],
    containers: [
      { name: 'app', image: 'tools', securityContext: { runAsUser: 0 } },
      { name: 'istio-proxy', image: 'proxyv2' },
    ],
  },
};

t.test('the reference workload: only differences that do not decide egress', async (t) => {
  const twin = networkTwin(reference);
  t.same(twin.spec, {});
  t.same(twin.annotations, {});
  t.same(twin.copied, ['namespace', 'labels', 'serviceAccountName', 'proxy environment']);
  t.same(
    twin.differences.map((d) => [d.field, d.decidesEgress]),
    [
      ['containers', false],
      ['securityContext', false],
    ],
  );
  t.ok(twin.differences.every((d) => d.reason.length > 0));
});

t.test('every field that decides where packets go is copied', async (t) => {
  const twin = networkTwin(everything);
  const spec = everything.spec;
  t.same(twin.spec, {
    hostNetwork: true,
    dnsPolicy: 'ClusterFirstWithHostNet',
    dnsConfig: spec?.dnsConfig,
    hostAliases: spec?.hostAliases,
    runtimeClassName: 'gvisor',
    nodeSelector: { pool: 'agents' },
    tolerations: spec?.tolerations,
    affinity: { nodeAffinity: spec?.affinity?.nodeAffinity },
  });
  t.same(twin.annotations, {
    'k8s.v1.cni.cncf.io/networks': 'macvlan-conf',
    'cni.projectcalico.org/ipv4pools': '["egress-pool"]',
  });
  t.same(twin.copied.slice(4), [
    'hostNetwork',
    'dnsPolicy',
    'dnsConfig',
    'hostAliases',
    'runtimeClassName',
    'nodeSelector',
    'tolerations',
    'affinity.nodeAffinity',
    'annotation k8s.v1.cni.cncf.io/networks',
    'annotation cni.projectcalico.org/ipv4pools',
  ]);
});

t.test('what is not copied is a difference with its reason; what could decide egress says so', async (t) => {
  const byField = new Map(networkTwin(everything).differences.map((d) => [d.field, d]));
  t.equal(byField.get('annotation cni.projectcalico.org/ipAddrs')?.decidesEgress, true, 'a fixed address can decide egress');
  t.equal(byField.get('annotation cni.projectcalico.org/floatingIPs')?.decidesEgress, false, 'inbound NAT does not');
  t.equal(byField.get('affinity.podAntiAffinity')?.decidesEgress, false);
  t.equal(byField.get('topologySpreadConstraints')?.decidesEgress, false);
  t.match(byField.get('service mesh'), { workload: 'istio-init, istio-proxy', decidesEgress: true });
  t.match(byField.get('NET_ADMIN containers'), { workload: 'routes', decidesEgress: true });
  t.equal(byField.get('securityContext')?.decidesEgress, false, 'restricted does not route packets');
  t.notOk(byField.has('annotation example.com/unrelated'));
});

t.test('a live pod that differs from the template the twin copied is a difference that decides egress', async (t) => {
  const twin = networkTwin(reference);
  t.same(liveDifferences(twin, 'p-1', reference), [], 'the same spec: no difference');
  const mutated: V1PodTemplateSpec = {
    metadata: { annotations: { 'k8s.v1.cni.cncf.io/networks': 'sriov' } },
    spec: { dnsPolicy: 'Default', containers: [{ name: 'app' }, { name: 'linkerd-proxy' }] },
  };
  const got = liveDifferences(twin, 'p-1', mutated);
  t.same(
    got.map((d) => [d.field, d.workload, d.probe, d.decidesEgress]),
    [
      ['dnsPolicy (pod p-1)', 'Default', 'unset', true],
      ['annotation k8s.v1.cni.cncf.io/networks (pod p-1)', 'sriov', 'unset', true],
      ['service mesh (pod p-1)', 'linkerd-proxy', 'none', true],
    ],
  );
  t.same(liveDifferences(networkTwin(mutated), 'p-2', mutated), [], 'a difference the twin already names is not repeated');
});

t.test('placement: the workload node constraints, or the one node that runs a workload pod', async (t) => {
  const twin = networkTwin(everything);
  t.same(twinPlacement(twin, undefined), {
    nodeSelector: { pool: 'agents' },
    affinity: { nodeAffinity: everything.spec?.affinity?.nodeAffinity },
    tolerations: everything.spec?.tolerations,
  });
  t.same(twinPlacement(twin, 'node-b'), {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-b'] }] }],
        },
      },
    },
    tolerations: everything.spec?.tolerations,
  });
  t.same(twinPlacement(networkTwin(reference), undefined), {});
});

t.test('findings: the node network and a secondary network fail; an inexact twin is never a pass', async (t) => {
  const subject = (template: V1PodTemplateSpec) => ({
    namespace: 'production-agents',
    description: 'deployment/data-processor',
    ref: { kind: 'Deployment', name: 'data-processor' },
    twin: networkTwin(template),
  });
  t.same(twinFindings(subject(reference), false), [], 'the reference: nothing');
  const all = twinFindings(subject(everything), false);
  t.same(
    all.map((f) => [f.ruleId, f.decides]),
    [
      ['host-network', 'fail'],
      ['secondary-network', 'fail'],
      ['twin-inexact', 'inconclusive'],
    ],
  );
  t.match(all[0], { severity: 'critical', object: { kind: 'Deployment', namespace: 'production-agents', name: 'data-processor' } });
  t.ok(all.every((f) => f.fix.length > 0));
  t.notOk(
    twinFindings(subject(everything), true).some((f) => f.ruleId === 'host-network'),
    "--host-network-probe: the probe's observations decide",
  );
});

t.test('--in-pod: the shared network namespace leaves no difference that decides egress, and says it stays', async (t) => {
  const twin = inPodTwin(networkTwin(everything));
  t.notOk(twin.differences.some((d) => d.decidesEgress));
  t.ok(twin.copied.some((c) => /network namespace \(shared/.test(c)));
  t.match(
    twin.differences.find((d) => d.field === 'containers'),
    { reason: /stays in the pod's spec/ },
  );
  const subject = { namespace: 'ns', description: 'deployment/x', twin };
  t.same(
    twinFindings(subject, false).map((f) => f.ruleId),
    ['host-network', 'secondary-network'],
    'NetworkPolicy still covers neither the node network nor a secondary one',
  );
});

t.test("a mesh injector's switch is copied: a workload that opts out keeps its probe out too", async (t) => {
  const optedOut = networkTwin({ ...reference, metadata: { ...reference.metadata, annotations: { 'sidecar.istio.io/inject': 'false' } } });
  t.same(optedOut.annotations, { 'sidecar.istio.io/inject': 'false' });
  t.ok(optedOut.copied.includes('annotation sidecar.istio.io/inject'));
  t.same(twinFindings({ namespace: 'ns', description: 'deployment/x', twin: optedOut }, false), [], 'nothing inexact');
});

t.test('the probe pod as admitted against the pod sent', async (t) => {
  const sent: V1Pod = {
    metadata: {
      name: 'p',
      labels: { app: 'data-processor', 'egress-verify.dev/run': 'r' },
      annotations: { 'k8s.v1.cni.cncf.io/networks': 'a' },
    },
    spec: { containers: [{ name: 'probe' }] },
  };
  const admitted = (change: (pod: V1Pod) => void): V1Pod => {
    // What the API server and the scheduler add to every pod decide nothing.
    const pod: V1Pod = structuredClone(sent);
    pod.spec = {
      ...(pod.spec ?? { containers: [] }),
      dnsPolicy: 'ClusterFirst',
      nodeName: 'n',
      tolerations: [{ key: 'k', operator: 'Exists' }],
    };
    pod.metadata = { ...pod.metadata, uid: 'u', resourceVersion: '9' };
    change(pod);
    return pod;
  };
  const fields = (pod: V1Pod): string[] => admittedDifferences(sent, pod).map((d) => d.field);
  t.same(fields(admitted(() => {})), [], 'as sent, with the defaults');
  t.same(
    fields(
      admitted((p) => {
        p.metadata = { ...p.metadata, labels: { ...p.metadata?.labels, team: 'x' } };
      }),
    ),
    [],
    'a label added is not compared: a webhook that labels every pod labels the workload too',
  );
  t.same(
    fields(
      admitted((p) => {
        p.metadata = { ...p.metadata, labels: { 'egress-verify.dev/run': 'r', app: 'other' } };
      }),
    ),
    ['label app'],
    'a label changed',
  );
  t.same(
    fields(
      admitted((p) => {
        p.metadata = { ...p.metadata, labels: { 'egress-verify.dev/run': 'r' }, annotations: {} };
      }),
    ),
    ['label app', 'annotation k8s.v1.cni.cncf.io/networks'],
    'a label and a network annotation removed',
  );
  t.same(
    fields(
      admitted((p) => {
        if (p.spec) Object.assign(p.spec, { hostNetwork: true, dnsPolicy: 'Default' });
      }),
    ),
    ['hostNetwork', 'dnsPolicy'],
    'network fields set',
  );
  t.same(
    fields(
      admitted((p) => {
        p.spec?.containers.push({ name: 'log-shipper' });
      }),
    ),
    [],
    'a sidecar that can neither redirect nor filter decides nothing',
  );
  const injected = admittedDifferences(
    sent,
    admitted((p) => {
      p.spec?.containers.push({ name: 'linkerd-proxy' }, { name: 'tun', securityContext: { capabilities: { add: ['NET_ADMIN'] } } });
    }),
  );
  t.match(injected, [{ field: 'containers added at admission', probe: 'linkerd-proxy, tun', decidesEgress: true }]);
  const findings = admissionFindings({ namespace: 'ns', description: 'deployment/x', twin: networkTwin(reference) }, 'p', injected);
  t.match(findings, [
    { ruleId: 'twin-inexact', decides: 'inconclusive', message: /^deployment\/x: probe pod p differs from the pod sent/ },
  ]);
  t.same(admissionFindings({ namespace: 'ns', description: 'deployment/x', twin: networkTwin(reference) }, 'p', []), []);
});
