/**
 * The control pod: the probe image with an identity of its own, in a namespace the user names,
 * sending the twin's must-fail checks directly (probes/control-plan.ts). It is a probe pod in
 * every other respect (Pod Security "restricted", no service account token, never ready), but a
 * twin of nothing: no labels, proxy environment or network fields of the workload.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { PolicyRead } from '../kube/policies.js';
import { egressPoliciesFor } from '../kube/policy-kinds.js';
import type { Labels } from '../kube/selector.js';
import { type Permission, POD_PERMISSIONS } from './preflight.js';
import { buildProbePod, MANAGED_BY, type ProbePodInput, RUN_LABEL } from './probe-pod.js';

export const ROLE_LABEL = 'egress-verify.dev/role';

/** Only ours: a policy written for the namespace's own pods is unlikely to select these. */
export function controlLabels(runId: string): Labels {
  return { [MANAGED_BY]: 'egress-verify', [ROLE_LABEL]: 'control', [RUN_LABEL]: runId };
}

/** What the control pod needs in its namespace; the run's namespace already grants these. */
export const CONTROL_PERMISSIONS: readonly Permission[] = [
  ...POD_PERMISSIONS,
  { verb: 'list', resource: 'networkpolicies', group: 'networking.k8s.io' },
];

/** The run object is the control pods' own, in their namespace: a pod mounts its plan from there. */
export interface ControlPodInput extends Omit<ProbePodInput, 'target' | 'node'> {
  namespace: string;
}

export function buildControlPod(input: ControlPodInput): V1Pod {
  const { namespace, ...rest } = input;
  const labels = controlLabels(input.runId);
  const pod = buildProbePod({
    ...rest,
    target: {
      namespace,
      description: `control pod in ${namespace}`,
      labels,
      proxyEnv: [],
      liveSelector: '',
      twin: { spec: {}, annotations: {}, copied: [], differences: [] },
    },
  });
  pod.metadata = {
    ...pod.metadata,
    name: `egress-verify-${input.runId}-control-${input.index}`,
    labels: { ...labels },
    annotations: { 'egress-verify.dev/target': 'control: the must-fail checks sent directly, outside the workload policies' },
  };
  return pod;
}

/**
 * The control pod's identity through the same policy selection as the twin's (every kind read).
 * One that an egress policy selects is still a control for what it reaches (the target is up),
 * but its "blocked" means nothing; say so, since everything it cannot reach falls back to the
 * companion. Returns the selecting policies.
 */
export function checkControlIdentity(read: PolicyRead, namespace: string, warnings: string[]): string[] {
  const { selecting, unknown } = egressPoliciesFor(read.policies, {
    namespace,
    labels: controlLabels('preflight'),
    namespaceLabels: read.namespaceLabels,
    serviceAccount: 'default',
  });
  for (const u of unknown) warnings.push(`cannot evaluate ${u}: the control pod's identity proof does not cover it`);
  if (selecting.length > 0)
    warnings.push(
      `egress policies [${selecting.join(', ')}] in ${namespace} select the control pod: only what it reaches proves anything; name a namespace no egress policy covers with --control-namespace`,
    );
  return selecting;
}
