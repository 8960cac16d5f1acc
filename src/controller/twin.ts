/**
 * The probe as the workload's network twin: everything in the workload's pod spec that decides
 * where its packets go is copied, and every difference is named with its reason. A difference
 * that could decide egress makes a pass impossible (the run is at best inconclusive). Pure.
 */

import type { V1Affinity, V1Pod, V1PodDNSConfig, V1PodSpec, V1PodTemplateSpec, V1Toleration } from '@kubernetes/client-node';
import { ruleSpec } from '../audit/catalogue.js';
import type { AuditFinding } from '../audit/finding.js';
import { meshContainers, netAdminContainers, networkAnnotation, networkAnnotationKeys, secondaryNetworks } from '../kube/pod-network.js';

/** The pod spec fields the twin copies; they are what the probe pod gets. */
export interface TwinSpec {
  hostNetwork?: boolean;
  dnsPolicy?: string;
  dnsConfig?: V1PodDNSConfig;
  hostAliases?: V1PodSpec['hostAliases'];
  runtimeClassName?: string;
  nodeSelector?: Record<string, string>;
  affinity?: V1Affinity;
  tolerations?: V1Toleration[];
}

export interface TwinDifference {
  field: string;
  /** What the workload has, and what the probe has instead, as short text. */
  workload: string;
  probe: string;
  reason: string;
  /** Could decide where the workload's packets go: no pass can stand on this twin. */
  decidesEgress: boolean;
}

export interface NetworkTwin {
  spec: TwinSpec;
  annotations: Record<string, string>;
  /** Fields and annotations copied from the workload (namespace, labels, service account included). */
  copied: string[];
  differences: TwinDifference[];
}

/** Copied as they are: each decides the pod's network namespace, resolver or runtime. */
const COPIED_FIELDS = ['hostNetwork', 'dnsPolicy', 'dnsConfig', 'hostAliases', 'runtimeClassName'] as const;
/** Copied so the probe lands where the workload can land (nodes differ in routes, firewalls, egress gateways). */
const PLACEMENT_FIELDS = ['nodeSelector', 'tolerations'] as const;

const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

export function networkTwin(template: V1PodTemplateSpec): NetworkTwin {
  const spec: V1PodSpec = template.spec ?? { containers: [] };
  const twin: TwinSpec = {};
  const copied: string[] = ['namespace', 'labels', 'serviceAccountName', 'proxy environment'];
  const differences: TwinDifference[] = [];
  for (const field of [...COPIED_FIELDS, ...PLACEMENT_FIELDS]) {
    const value = spec[field];
    if (value === undefined || value === null) continue;
    Object.assign(twin, { [field]: value });
    copied.push(field);
  }
  const nodeAffinity = spec.affinity?.nodeAffinity;
  if (nodeAffinity !== undefined) {
    twin.affinity = { nodeAffinity };
    copied.push('affinity.nodeAffinity');
  }
  for (const field of ['podAffinity', 'podAntiAffinity'] as const) {
    if (spec.affinity?.[field] !== undefined)
      differences.push({
        field: `affinity.${field}`,
        workload: text(spec.affinity[field]),
        probe: 'none',
        reason: "places pods relative to each other; carrying the workload's labels, the probe would repel or chase itself",
        decidesEgress: false,
      });
  }
  if (spec.topologySpreadConstraints !== undefined)
    differences.push({
      field: 'topologySpreadConstraints',
      workload: text(spec.topologySpreadConstraints),
      probe: 'none',
      reason: 'spreads replicas; the probe is one pod, placed by the node constraints copied',
      decidesEgress: false,
    });

  const annotations: Record<string, string> = {};
  const own = template.metadata?.annotations ?? {};
  for (const key of networkAnnotationKeys) {
    const value = own[key];
    if (value === undefined) continue;
    const rule = networkAnnotation(key);
    if (rule.copy) {
      annotations[key] = value;
      copied.push(`annotation ${key}`);
    } else {
      differences.push({
        field: `annotation ${key}`,
        workload: value,
        probe: 'none',
        reason: rule.why,
        decidesEgress: 'decidesEgress' in rule,
      });
    }
  }

  differences.push(
    {
      field: 'containers',
      workload: spec.containers.map((c) => c.name).join(', '),
      probe: 'probe',
      reason: 'the probe runs its own image and command; containers of one pod share its network',
      decidesEgress: false,
    },
    {
      field: 'securityContext',
      workload: 'as the workload sets it',
      probe: 'Pod Security restricted',
      reason: 'the probe must be restricted; user, capabilities and seccomp do not route packets',
      decidesEgress: false,
    },
  );
  const mesh = meshContainers(spec);
  if (mesh.length > 0)
    differences.push({
      field: 'service mesh',
      workload: mesh.join(', '),
      probe: 'none',
      reason: "a mesh proxy redirects the pod's traffic inside its network namespace; only --in-pod shares it",
      decidesEgress: true,
    });
  const admins = netAdminContainers(spec);
  if (admins.length > 0)
    differences.push({
      field: 'NET_ADMIN containers',
      workload: admins.join(', '),
      probe: 'none',
      reason: "a privileged or NET_ADMIN container can change the pod's own routes and packet filter; only --in-pod shares them",
      decidesEgress: true,
    });
  return { spec: twin, annotations, copied, differences };
}

/** The network-deciding fields of a live pod that the twin does not reproduce. */
export function liveDifferences(twin: NetworkTwin, podName: string, pod: V1PodTemplateSpec): TwinDifference[] {
  const live = networkTwin(pod);
  const out: TwinDifference[] = [];
  const differs = (field: string, a: unknown, b: unknown): void => {
    if (text(a ?? null) !== text(b ?? null))
      out.push({
        field: `${field} (pod ${podName})`,
        workload: text(a ?? 'unset'),
        probe: text(b ?? 'unset'),
        reason: 'the live pod differs from the pod template the probe copied (a rollout, or a mutating webhook)',
        decidesEgress: true,
      });
  };
  for (const field of COPIED_FIELDS) differs(field, live.spec[field], twin.spec[field]);
  for (const key of networkAnnotationKeys) differs(`annotation ${key}`, live.annotations[key], twin.annotations[key]);
  const known = new Set(twin.differences.filter((d) => d.decidesEgress).map((d) => d.field));
  for (const d of live.differences) if (d.decidesEgress && !known.has(d.field)) out.push({ ...d, field: `${d.field} (pod ${podName})` });
  return out;
}

/** The twin's own network fields (not placement) for the probe's pod spec. */
export function copiedNetworkFields(twin: NetworkTwin): Pick<TwinSpec, (typeof COPIED_FIELDS)[number]> {
  const out: Pick<TwinSpec, (typeof COPIED_FIELDS)[number]> = {};
  for (const field of COPIED_FIELDS) if (twin.spec[field] !== undefined) Object.assign(out, { [field]: twin.spec[field] });
  return out;
}

/**
 * Where the probe may be scheduled: the workload's node constraints, or, pinned to a node that
 * runs a workload pod (--per-node), that node (its constraints held when the pod landed there).
 */
export function twinPlacement(twin: NetworkTwin, node: string | undefined): Pick<V1PodSpec, 'nodeSelector' | 'affinity' | 'tolerations'> {
  const tolerations = twin.spec.tolerations ? { tolerations: twin.spec.tolerations } : {};
  if (node === undefined)
    return {
      ...(twin.spec.nodeSelector ? { nodeSelector: twin.spec.nodeSelector } : {}),
      ...(twin.spec.affinity ? { affinity: twin.spec.affinity } : {}),
      ...tolerations,
    };
  return {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }],
        },
      },
    },
    ...tolerations,
  };
}

/** The workload as a finding's object: its kind and name, or the selector that found it. */
interface TwinSubject {
  namespace: string;
  description: string;
  ref?: { kind: string; name: string };
  twin: NetworkTwin;
}

function finding(
  ruleId: 'host-network' | 'secondary-network' | 'twin-inexact',
  subject: TwinSubject,
  message: string,
  decides: AuditFinding['decides'],
): AuditFinding {
  const rule = ruleSpec(ruleId);
  return {
    ruleId,
    severity: rule?.severity ?? 'high',
    message: `${subject.description}: ${message}`,
    fix: rule?.fix ?? '',
    object: { kind: subject.ref?.kind ?? 'Pod', namespace: subject.namespace, name: subject.ref?.name ?? subject.description },
    ...(decides ? { decides } : {}),
  };
}

/**
 * What the twin says about the verdict before any probe runs. NetworkPolicy does not apply on the
 * node's network (unless --host-network-probe puts the probe there, and its observations decide)
 * nor on a secondary network: both fail. A difference that could decide egress is never a pass.
 */
export function twinFindings(subject: TwinSubject, hostNetworkProbe: boolean): AuditFinding[] {
  const { twin } = subject;
  const out: AuditFinding[] = [];
  if (twin.spec.hostNetwork === true && !hostNetworkProbe)
    out.push(
      finding(
        'host-network',
        subject,
        "hostNetwork: true; its pods use the node's network, where no NetworkPolicy applies (not probed; --host-network-probe tests the node's network)",
        'fail',
      ),
    );
  const networks = secondaryNetworks(twin.annotations);
  if (networks.length > 0)
    out.push(finding('secondary-network', subject, `${networks.join(', ')}; NetworkPolicy does not cover that interface`, 'fail'));
  const inexact = twin.differences.filter((d) => d.decidesEgress);
  if (inexact.length > 0)
    out.push(
      finding(
        'twin-inexact',
        subject,
        `the probe differs in what could decide egress: ${inexact.map((d) => `${d.field} (${d.reason})`).join('; ')}`,
        'inconclusive',
      ),
    );
  return out;
}

/** What the API server sets when a pod leaves the field out. */
const FIELD_DEFAULTS: Partial<Record<(typeof COPIED_FIELDS)[number], unknown>> = { dnsPolicy: 'ClusterFirst', hostNetwork: false };

/**
 * What admission changed in a probe pod that could decide egress: a label or copied network
 * field it was sent with, changed or removed, or containers added that can redirect or filter
 * its packets (a mesh proxy injected into the probe, say, though the workload opts out).
 * Labels added are not compared: a webhook that labels every pod labels the workload's too.
 */
export function admittedDifferences(sent: V1Pod, admitted: V1Pod): TwinDifference[] {
  const out: TwinDifference[] = [];
  const differs = (field: string, was: unknown, is: unknown, reason: string): void => {
    if (text(was ?? null) !== text(is ?? null))
      out.push({ field, workload: text(was ?? 'unset'), probe: text(is ?? 'unset'), reason, decidesEgress: true });
  };
  const changed = 'admission changed it on the probe pod (a mutating webhook)';
  for (const [key, value] of Object.entries(sent.metadata?.labels ?? {}))
    differs(`label ${key}`, value, admitted.metadata?.labels?.[key], `${changed}; policies select pods by label`);
  for (const field of COPIED_FIELDS)
    differs(field, sent.spec?.[field] ?? FIELD_DEFAULTS[field], admitted.spec?.[field] ?? FIELD_DEFAULTS[field], changed);
  for (const key of networkAnnotationKeys)
    differs(`annotation ${key}`, sent.metadata?.annotations?.[key], admitted.metadata?.annotations?.[key], changed);
  const names = new Set([...(sent.spec?.initContainers ?? []), ...(sent.spec?.containers ?? [])].map((c) => c.name));
  const added = {
    containers: [...(admitted.spec?.initContainers ?? []), ...(admitted.spec?.containers ?? [])].filter((c) => !names.has(c.name)),
  };
  const redirecting = [...meshContainers(added), ...netAdminContainers(added)];
  if (redirecting.length > 0)
    out.push({
      field: 'containers added at admission',
      workload: 'none',
      probe: redirecting.join(', '),
      reason: "a mesh proxy or NET_ADMIN container in the probe pod's network namespace can redirect or drop its packets",
      decidesEgress: true,
    });
  return out;
}

/** The twin-inexact finding for a probe pod that admission changed in what could decide egress. */
export function admissionFindings(subject: TwinSubject, pod: string, differences: readonly TwinDifference[]): AuditFinding[] {
  if (differences.length === 0) return [];
  const what = differences.map((d) => `${d.field} sent ${d.workload}, admitted ${d.probe} (${d.reason})`).join('; ');
  return [
    finding('twin-inexact', subject, `probe pod ${pod} differs from the pod sent in what could decide egress: ${what}`, 'inconclusive'),
  ];
}

/**
 * `--in-pod`: the probe shares the live pod's network namespace, so everything that decides
 * egress there is the workload's own; what remains different decides nothing.
 */
export function inPodTwin(twin: NetworkTwin): NetworkTwin {
  return {
    ...twin,
    copied: [...twin.copied, 'network namespace (shared: the probe runs inside a live pod of the workload)'],
    differences: [
      ...twin.differences.filter((d) => !d.decidesEgress && d.field !== 'containers'),
      {
        field: 'containers',
        workload: 'as the workload runs them',
        probe: 'an ephemeral container added to a live pod',
        reason: "it shares the pod's network; it stays in the pod's spec until the pod is replaced",
        decidesEgress: false,
      },
    ],
  };
}
