import type { V1ObjectMeta, V1PodTemplateSpec } from '@kubernetes/client-node';
import t from 'tap';
import { parseLabelSelector } from '../kube/selector.js';
import { type ListedObjects, matchingWorkloads } from './discovery.js';

const agent = { role: 'agent-workload' };
const meta = (namespace: string, name: string, uid: string, owner?: { kind: string; name: string; uid: string }): V1ObjectMeta => ({
  namespace,
  name,
  uid,
  ...(owner && { ownerReferences: [{ apiVersion: 'apps/v1', kind: owner.kind, name: owner.name, uid: owner.uid, controller: true }] }),
});
const template = (labels: Record<string, string>): V1PodTemplateSpec => ({ metadata: { labels }, spec: { containers: [] } });

const none: ListedObjects = { deployments: [], statefulSets: [], daemonSets: [], cronJobs: [], jobs: [], replicaSets: [], pods: [] };

const cluster: ListedObjects = {
  deployments: [
    { metadata: meta('a', 'dp', 'd1'), spec: { selector: {}, template: template({ ...agent, app: 'dp' }) } },
    { metadata: meta('a', 'web', 'd2'), spec: { selector: {}, template: template({ app: 'web' }) } },
  ],
  statefulSets: [{ metadata: meta('b', 'db', 's1'), spec: { selector: {}, serviceName: 'db', template: template(agent) } }],
  daemonSets: [{ metadata: meta('b', 'node-agent', 'ds1'), spec: { selector: {}, template: template(agent) } }],
  cronJobs: [{ metadata: meta('a', 'nightly', 'c1'), spec: { schedule: '@daily', jobTemplate: { spec: { template: template(agent) } } } }],
  jobs: [
    { metadata: meta('a', 'nightly-1', 'j1', { kind: 'CronJob', name: 'nightly', uid: 'c1' }), spec: { template: template(agent) } },
    { metadata: meta('a', 'once', 'j2'), spec: { template: template(agent) } },
  ],
  replicaSets: [
    { metadata: meta('a', 'dp-5d8f', 'r1', { kind: 'Deployment', name: 'dp', uid: 'd1' }), spec: { selector: {} } },
    { metadata: meta('c', 'lone', 'r2'), spec: { selector: {} } },
  ],
  pods: [
    // Owned, through their ReplicaSet or Job, by workloads found above: counted there.
    {
      metadata: {
        ...meta('a', 'dp-5d8f-x', 'p1', { kind: 'ReplicaSet', name: 'dp-5d8f', uid: 'r1' }),
        labels: { ...agent, 'pod-template-hash': '5d8f' },
      },
    },
    { metadata: { ...meta('a', 'dp-5d8f-y', 'p2', { kind: 'ReplicaSet', name: 'dp-5d8f', uid: 'r1' }), labels: agent } },
    { metadata: { ...meta('a', 'nightly-1-z', 'p3', { kind: 'Job', name: 'nightly-1', uid: 'j1' }), labels: agent } },
    { metadata: { ...meta('b', 'db-0', 'p4', { kind: 'StatefulSet', name: 'db', uid: 's1' }), labels: agent } },
    // A bare pod, and pods of a controller that is none of the kinds listed: each its own workload.
    { metadata: { ...meta('a', 'debug', 'p5'), labels: agent }, spec: { containers: [] } },
    { metadata: { ...meta('c', 'lone-1', 'p6', { kind: 'ReplicaSet', name: 'lone', uid: 'r2' }), labels: agent } },
    { metadata: { ...meta('c', 'lone-2', 'p7', { kind: 'ReplicaSet', name: 'lone', uid: 'r2' }), labels: agent } },
    { metadata: { ...meta('c', 'rollout-1', 'p8', { kind: 'Rollout', name: 'canary', uid: 'x1' }), labels: agent } },
    // Probe pods of an earlier run carry the workload's labels: never workloads themselves.
    { metadata: { ...meta('a', 'egress-verify-x-0', 'p9'), labels: { ...agent, 'egress-verify.dev/run': 'x' } } },
    { metadata: { ...meta('a', 'other', 'p10'), labels: { app: 'web' } } },
  ],
};

t.test('every kind whose template matches, each pod once under its controller', async (t) => {
  const found = matchingWorkloads(cluster, parseLabelSelector('role=agent-workload'));
  t.same(
    found.map((f) => `${f.namespace}/${f.kind}/${f.name}`),
    [
      'a/CronJob/nightly',
      'a/Deployment/dp',
      'a/Job/once',
      'a/Pod/debug',
      'b/DaemonSet/node-agent',
      'b/StatefulSet/db',
      'c/ReplicaSet/lone',
      'c/Rollout/canary',
    ],
  );
  t.same(found.find((f) => f.name === 'canary')?.uid, 'x1', 'an unknown controller is named by its ownerReference');
});

t.test('set-based selectors and the controller hashes', async (t) => {
  t.same(
    matchingWorkloads(cluster, parseLabelSelector('app in (dp, web)')).map((f) => f.name),
    ['dp', 'web', 'other'],
    'pods of web are covered by web; a bare pod of the same labels is its own',
  );
  t.same(
    matchingWorkloads(cluster, parseLabelSelector('pod-template-hash')),
    [],
    "a controller's hash label is not part of the workload's identity",
  );
  t.same(matchingWorkloads(none, parseLabelSelector('role=agent-workload')), []);
});

t.test('a Job of a CronJob that no longer matches is its own workload', async (t) => {
  const changed: ListedObjects = {
    ...cluster,
    cronJobs: [{ ...cluster.cronJobs[0], spec: { schedule: '@daily', jobTemplate: { spec: { template: template({ role: 'x' }) } } } }],
  };
  const names = matchingWorkloads(changed, parseLabelSelector('role=agent-workload')).map((f) => `${f.kind}/${f.name}`);
  t.ok(names.includes('Job/nightly-1'));
  t.notOk(names.includes('CronJob/nightly'));
});
