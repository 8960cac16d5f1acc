import t from 'tap';
import { FakeKube, until } from '../../test/fake-kube.js';
import { podStatus } from '../../test/pod-status.js';
import { InfrastructureError } from '../base/errors.js';
import type { PodState } from './pod-progress.js';
import { RUN_LABEL } from './probe-pod.js';
import { watchUntilDone } from './watch.js';

const NS = 'apps';
const labels = { [RUN_LABEL]: 'r1' };

function setup(startTimeoutMs = 5000) {
  const kube = new FakeKube();
  const progress: string[] = [];
  const abort = new AbortController();
  const settings = { startTimeoutMs, signal: abort.signal, onProgress: (pod: string, state: string) => progress.push(`${pod}: ${state}`) };
  return { kube, progress, abort, settings };
}

const created = async (kube: FakeKube, ...names: string[]): Promise<void> => {
  for (const name of names) await kube.core.createNamespacedPod({ namespace: NS, body: { metadata: { name, labels } } });
};
const summary = (states: Map<string, PodState>): Record<string, unknown> =>
  Object.fromEntries([...states].map(([name, s]) => [name, { node: s.node, ...s.progress }]));

t.test('pod phases through the watch: pending, running, exited; done when every pod is', async (t) => {
  const { kube, progress, settings } = setup();
  await created(kube, 'p0', 'p1');
  const done = watchUntilDone(kube, NS, 'r1', ['p0', 'p1'], settings, 10_000);
  await until(() => kube.openWatches() === 1, 'the watch');
  kube.setStatus(NS, 'p0', podStatus.waiting('ContainerCreating', ''));
  kube.setStatus(NS, 'p0', podStatus.running());
  kube.setStatus(NS, 'p1', podStatus.running(), 'node-b');
  kube.setStatus(NS, 'p0', podStatus.exited(0, '{"observations":[]}'));
  kube.setStatus(NS, 'p1', podStatus.exited(1));
  t.same(summary(await done), {
    p0: { node: 'node-a', state: 'done', exitCode: 0, terminationMessage: '{"observations":[]}' },
    p1: { node: 'node-b', state: 'done', exitCode: 1 },
  });
  t.same(progress, [
    'p0: pending on node-a (ContainerCreating)',
    'p0: running on node-a',
    'p1: running on node-b',
    'p0: done on node-a',
    'p1: done on node-b',
  ]);
  await until(() => kube.openWatches() === 0, 'the watch to be stopped');
});

t.test('a pod that cannot start ends the wait at once with its Kubernetes reason', async (t) => {
  const { kube, settings } = setup();
  await created(kube, 'p0');
  const done = watchUntilDone(kube, NS, 'r1', ['p0'], settings, 10_000);
  await until(() => kube.openWatches() === 1, 'the watch');
  kube.setStatus(NS, 'p0', podStatus.waiting('ErrImageNeverPull', 'Container image "probe:dev" is not present'));
  t.same(summary(await done).p0, {
    node: 'node-a',
    state: 'stuck',
    reason: 'ErrImageNeverPull: Container image "probe:dev" is not present',
  });
});

t.test('stuck pods: image pull back-off and unschedulable are reported at the start timeout, with the reason', async (t) => {
  const { kube, settings } = setup(100);
  await created(kube, 'pull', 'sched', 'silent');
  const done = watchUntilDone(kube, NS, 'r1', ['pull', 'sched', 'silent', 'never-created'], settings, 10_000);
  await until(() => kube.openWatches() === 1, 'the watch');
  kube.setStatus(NS, 'pull', podStatus.waiting('ImagePullBackOff', 'Back-off pulling image "probe:dev"'));
  kube.setStatus(NS, 'sched', podStatus.unschedulable('0/3 nodes are available: 3 Insufficient cpu.'));
  const started = Date.now();
  const states = summary(await done);
  t.ok(Date.now() - started < 5000, 'well before the run deadline');
  t.same(states, {
    pull: { node: 'node-a', state: 'stuck', reason: 'ImagePullBackOff: Back-off pulling image "probe:dev"' },
    sched: { state: 'stuck', reason: 'Unschedulable: 0/3 nodes are available: 3 Insufficient cpu.' },
    silent: { state: 'stuck', reason: 'not started before the start timeout' },
    'never-created': { state: 'stuck', reason: 'not started before the start timeout' },
  });
});

t.test('a pod declared stuck that finishes after all counts as done', async (t) => {
  const { kube, settings } = setup(50);
  await created(kube, 'p0', 'p1');
  const done = watchUntilDone(kube, NS, 'r1', ['p0', 'p1'], settings, 10_000);
  await until(() => kube.openWatches() === 1, 'the watch');
  kube.setStatus(NS, 'p1', podStatus.running());
  kube.setStatus(NS, 'p0', podStatus.waiting('ImagePullBackOff', 'slow registry'));
  await new Promise((resolve) => setTimeout(resolve, 150));
  kube.setStatus(NS, 'p0', podStatus.running());
  kube.setStatus(NS, 'p0', podStatus.exited(0));
  kube.setStatus(NS, 'p1', podStatus.exited(0));
  const states = summary(await done);
  t.match(states.p0, { state: 'done', exitCode: 0 }, 'running after stuck is ignored, done is not');
});

t.test('the run deadline ends the wait with the pods as last seen', async (t) => {
  const { kube, settings } = setup();
  await created(kube, 'p0');
  const done = watchUntilDone(kube, NS, 'r1', ['p0'], settings, 150);
  await until(() => kube.openWatches() === 1, 'the watch');
  kube.setStatus(NS, 'p0', podStatus.running());
  t.match(summary(await done).p0, { state: 'running' });
});

t.test('other pods of the namespace, and deletions, are not the run', async (t) => {
  const { kube, settings } = setup();
  await created(kube, 'p0', 'control-0');
  const done = watchUntilDone(kube, NS, 'r1', ['p0'], settings, 10_000);
  await until(() => kube.openWatches() === 1, 'the watch');
  kube.setStatus(NS, 'control-0', podStatus.exited(0));
  kube.setStatus(NS, 'p0', podStatus.exited(0));
  t.same([...(await done).keys()], ['p0']);
});

t.test('a watch the server closes is resumed, a bounded number of times', async (t) => {
  const { kube, settings } = setup();
  await created(kube, 'p0');
  const resumed = watchUntilDone(kube, NS, 'r1', ['p0'], settings, 10_000);
  await until(() => kube.openWatches() === 1, 'the watch');
  kube.closeWatches();
  await until(() => kube.openWatches() === 1, 'the watch again');
  kube.setStatus(NS, 'p0', podStatus.exited(0));
  t.match(summary(await resumed).p0, { state: 'done' });

  const failing = watchUntilDone(kube, NS, 'r1', ['p0'], settings, 10_000);
  for (let i = 0; i < 6; i++) {
    await until(() => kube.openWatches() === 1, `watch ${i + 1}`);
    kube.closeWatches(new Error('connection reset'));
  }
  await t.rejects(failing, { name: 'InfrastructureError', message: /^watching probe pods: connection reset/ });
});

t.test('an abort (SIGINT, SIGTERM) ends the wait with an error, before or during the watch', async (t) => {
  const { kube, abort, settings } = setup();
  await created(kube, 'p0');
  const waiting = watchUntilDone(kube, NS, 'r1', ['p0'], settings, 10_000);
  await until(() => kube.openWatches() === 1, 'the watch');
  abort.abort();
  await t.rejects(waiting, new InfrastructureError('interrupted: probe pods deleted, no report'));
  await until(() => kube.openWatches() === 0, 'the watch to be stopped');
  await t.rejects(watchUntilDone(kube, NS, 'r1', ['p0'], settings, 10_000), { message: /^interrupted/ }, 'already aborted');
  t.equal(kube.openWatches(), 0, 'no watch was started');
});

const exited = (kube: FakeKube, ...names: string[]): void => {
  for (const name of names) kube.setStatus(NS, name, podStatus.exited(0));
};
/** A feed that creates the pods in the fake API server, and records the order. */
function feedOf(kube: FakeKube, lanes: number, fail?: string) {
  const order: string[] = [];
  return {
    order,
    feed: {
      lanes,
      container: 'probe',
      create: async (name: string) => {
        if (name === fail) throw new InfrastructureError(`creating probe pod ${name}: forbidden`);
        order.push(name);
        await created(kube, name);
      },
    },
  };
}

t.test('a feed: no more pods alive than lanes, the next created as one ends, in order', async (t) => {
  const { kube, settings } = setup();
  const { order, feed } = feedOf(kube, 2);
  const done = watchUntilDone(kube, NS, 'r1', ['p0', 'p1', 'p2', 'p3'], settings, 10_000, feed);
  await until(() => order.length === 2 && kube.openWatches() === 1, 'two lanes filled');
  kube.setStatus(NS, 'p0', podStatus.running());
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.same(order, ['p0', 'p1'], 'running holds a lane');
  exited(kube, 'p1');
  await until(() => order.length === 3, 'p2 in the lane p1 freed');
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.same(order, ['p0', 'p1', 'p2'], 'p0 still holds its lane');
  exited(kube, 'p0', 'p2');
  await until(() => order.length === 4, 'p3');
  exited(kube, 'p3');
  t.same(Object.keys(summary(await done)).sort(), ['p0', 'p1', 'p2', 'p3']);
});

t.test('a feed: a pod that says companion-done on its log gives its lane to the next, and runs on', async (t) => {
  const { kube, settings } = setup();
  const { order, feed } = feedOf(kube, 1);
  const done = watchUntilDone(kube, NS, 'r1', ['p0', 'p1', 'p2'], settings, 10_000, feed);
  await until(() => order.length === 1 && kube.openWatches() === 1, 'the first lane');
  kube.setStatus(NS, 'p0', podStatus.running());
  await until(() => kube.openFollows() === 1, "p0's log followed once it runs");
  kube.writeLog(NS, 'p0', 'probe', '{"type":"result","id":"x"}');
  kube.writeLog(NS, 'p0', 'probe', '{"type":"companion-done"');
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.same(order, ['p0'], 'another line, or a cut one, frees nothing');
  kube.writeLog(NS, 'p0', 'probe', '{"type":"companion-done"}');
  await until(() => order.length === 2, 'p1 in the lane p0 freed');
  await until(() => kube.openFollows() === 0, "p0's follow stopped");
  // Written before the follow began: the kubelet replays it.
  kube.writeLog(NS, 'p1', 'probe', '{"type":"companion-done"}');
  kube.setStatus(NS, 'p1', podStatus.running());
  await until(() => order.length === 3, 'p2 in the lane p1 freed');
  kube.setStatus(NS, 'p2', podStatus.running());
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.same(kube.follows, [`${NS}/p0/probe`, `${NS}/p1/probe`], 'the last pod is not followed: no pod waits for its lane');
  exited(kube, 'p2', 'p1');
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.equal(await Promise.race([done.then(() => 'ended'), Promise.resolve('waiting')]), 'waiting', 'p0 still runs: the watch waits for it');
  exited(kube, 'p0');
  t.same(summary(await done), {
    p0: { node: 'node-a', state: 'done', exitCode: 0 },
    p1: { node: 'node-a', state: 'done', exitCode: 0 },
    p2: { node: 'node-a', state: 'done', exitCode: 0 },
  });
});

t.test('a feed: a stuck pod is deleted to free its lane, and reported stuck', async (t) => {
  const { kube, settings } = setup(60);
  const { order, feed } = feedOf(kube, 1);
  const done = watchUntilDone(kube, NS, 'r1', ['slow', 'next'], settings, 10_000, feed);
  await until(() => order.length === 1 && kube.openWatches() === 1, 'the first lane');
  kube.setStatus(NS, 'slow', podStatus.waiting('ImagePullBackOff', 'slow registry'));
  await until(() => order.length === 2, 'the next pod, after the start timeout');
  t.same(kube.deletes, [`pod ${NS}/slow`], 'the stuck pod was deleted first: it could still start and use the lane');
  exited(kube, 'next');
  t.same(summary(await done), {
    slow: { node: 'node-a', state: 'stuck', reason: 'ImagePullBackOff: slow registry' },
    next: { node: 'node-a', state: 'done', exitCode: 0 },
  });
});

t.test('a feed: the run deadline reports the pods never created as stuck; a failed create ends the watch', async (t) => {
  const { kube, settings } = setup();
  const { feed } = feedOf(kube, 1);
  const states = summary(await watchUntilDone(kube, NS, 'r1', ['p0', 'p1'], settings, 150, feed));
  t.same(states.p1, { state: 'stuck', reason: "not started: the run's deadline passed while it waited for a lane" });
  t.match(states.p0, { state: 'pending' });

  const failing = feedOf(kube, 2, 'q1');
  await t.rejects(watchUntilDone(kube, NS, 'r1', ['q0', 'q1', 'q2'], settings, 10_000, failing.feed), {
    name: 'InfrastructureError',
    message: 'creating probe pod q1: forbidden',
  });
  t.same(failing.order, ['q0'], 'nothing created after the failure');
  await until(() => kube.openWatches() === 0, 'the watch to be stopped');
});

t.test('a feed creates a few pods at once, never more than it has lanes for', async (t) => {
  const { kube, settings } = setup();
  let inFlight = 0;
  let most = 0;
  const made: string[] = [];
  const feed = {
    lanes: 12,
    container: 'probe',
    create: async (name: string) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 30));
      inFlight--;
      made.push(name);
      await created(kube, name);
    },
  };
  const names = Array.from({ length: 14 }, (_, i) => `p${i}`);
  const done = watchUntilDone(kube, NS, 'r1', names, settings, 10_000, feed);
  await until(() => made.length === 12, 'a pod for each lane');
  t.equal(most, 8, 'eight creates in flight at once, not one by one');
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(made.length, 12, 'the last two wait for a lane');
  exited(kube, ...names.slice(0, 12));
  await until(() => made.length === 14, 'the last two, as pods end');
  exited(kube, 'p12', 'p13');
  t.equal(Object.keys(summary(await done)).length, 14);
});

t.test('a failed create ends the watch, and the creates not yet begun are not made', async (t) => {
  const { kube, settings } = setup();
  const begun: string[] = [];
  const feed = {
    lanes: 12,
    container: 'probe',
    create: async (name: string) => {
      begun.push(name);
      if (name === 'p0') throw new InfrastructureError('creating probe pod p0: forbidden');
      await new Promise((resolve) => setTimeout(resolve, 30));
      await created(kube, name);
    },
  };
  const names = Array.from({ length: 12 }, (_, i) => `p${i}`);
  await t.rejects(watchUntilDone(kube, NS, 'r1', names, settings, 10_000, feed), { message: 'creating probe pod p0: forbidden' });
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.same(begun, names.slice(0, 8), 'the eight begun at once, and no more after the failure');
  await until(() => kube.openWatches() === 0, 'the watch to be stopped');
});

t.test('no pods at all: done at once', async (t) => {
  const { kube, settings } = setup();
  t.same([...(await watchUntilDone(kube, NS, 'r1', [], settings, 10_000)).keys()], []);
});
