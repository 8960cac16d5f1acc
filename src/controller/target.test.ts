import type { V1CronJob, V1Deployment } from '@kubernetes/client-node';
import t from 'tap';
import { apiStatusBody, loopbackApi } from '../../test/loopback-api.js';
import { connectKube } from '../kube/client.js';
import { parseWorkload, resolveWorkloads, type WorkloadTarget } from './target.js';

const NS = 'production-agents';
const template = {
  metadata: { labels: { app: 'agent' } },
  spec: { serviceAccountName: 'agent', containers: [{ name: 'a', image: 'a:1' }] },
};
const deployment = (name: string): V1Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: NS, uid: `uid-${name}` },
  spec: { selector: { matchLabels: { app: 'agent' } }, template },
});
const cronJob: V1CronJob = {
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name: 'nightly', namespace: NS, uid: 'uid-nightly' },
  spec: { schedule: '0 0 * * *', jobTemplate: { spec: { template: { ...template, metadata: { labels: { app: 'nightly' } } } } } },
};
const DEPLOYMENTS = Array.from({ length: 100 }, (_, i) => deployment(`agent-${i}`));

/** Resolves the refs against a loopback API server holding the deployments and the CronJob; lists may be forbidden. */
async function resolve(t: Parameters<typeof loopbackApi>[0], refs: string[], listForbidden = false) {
  const apps = `/apis/apps/v1/namespaces/${NS}/deployments`;
  const api = await loopbackApi(t, ({ path }) => {
    if (path === apps)
      return listForbidden
        ? apiStatusBody(403, 'Forbidden', 'deployments.apps is forbidden: User "u" cannot list resource "deployments"')
        : { body: { apiVersion: 'apps/v1', kind: 'DeploymentList', metadata: {}, items: DEPLOYMENTS } };
    const found = DEPLOYMENTS.find((d) => path === `${apps}/${d.metadata?.name}`);
    if (found) return { body: found };
    if (path === `/apis/batch/v1/namespaces/${NS}/cronjobs/nightly`) return { body: cronJob };
    return undefined;
  });
  const targets = await resolveWorkloads(connectKube({ kubeconfig: api.kubeconfig }), NS, refs.map(parseWorkload));
  return { targets, requests: api.requests };
}

t.test('a kind named many times is one list; each target is what reading it alone gives', async (t) => {
  const names = DEPLOYMENTS.map((d) => `deployment/${d.metadata?.name}`);
  const alone: WorkloadTarget[] = [];
  for (const n of [names[0] ?? '', names[99] ?? '']) {
    const one = await resolve(t, [n]);
    t.same(one.requests, [`GET /apis/apps/v1/namespaces/${NS}/${n.replace('deployment/', 'deployments/')}`], `${n} read by name`);
    alone.push(...one.targets);
  }
  const all = await resolve(t, [...names, 'cronjob/nightly']);
  t.same(all.requests.sort(), [`GET /apis/apps/v1/namespaces/${NS}/deployments`, `GET /apis/batch/v1/namespaces/${NS}/cronjobs/nightly`]);
  t.equal(all.targets.length, 101);
  t.same([all.targets[0], all.targets[99]], alone, 'the listed object is the object read');
  t.same(all.targets[100]?.ref, { apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly', uid: 'uid-nightly' });
  t.same(
    all.targets.slice(0, 100).map((w) => w.description),
    names,
    'in the order named',
  );
});

t.test('a name the list lacks is the same one-line error as a read that finds nothing', async (t) => {
  await t.rejects(resolve(t, ['deployment/agent-1', 'deployment/nope']), {
    name: 'UsageError',
    message: `deployment/nope not found in namespace ${NS}`,
  });
  await t.rejects(resolve(t, ['deployment/nope']), { name: 'UsageError', message: `deployment/nope not found in namespace ${NS}` });
});

t.test('where RBAC forbids the list, each workload is read by name', async (t) => {
  const names = ['deployment/agent-3', 'deployment/agent-7'];
  const forbidden = await resolve(t, names, true);
  t.same(forbidden.requests.sort(), [
    `GET /apis/apps/v1/namespaces/${NS}/deployments`,
    `GET /apis/apps/v1/namespaces/${NS}/deployments/agent-3`,
    `GET /apis/apps/v1/namespaces/${NS}/deployments/agent-7`,
  ]);
  t.same(forbidden.targets, (await resolve(t, names)).targets);
});
