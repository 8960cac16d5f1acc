/**
 * An in-memory API server for the run path's unit tests: pods and ConfigMaps by namespace, label
 * selectors, NotFound as the client raises it, and a pod watch the test drives by moving pods
 * through their phases. Only the API server is fake: sweep, watch, results and cleanup run as in
 * a real run, through the same `ProbeKube` interface the real client is given.
 */
import { ApiException, type V1ConfigMap, type V1ObjectMeta, type V1Pod, type V1PodStatus } from '@kubernetes/client-node';
import type { PodEvent, ProbeKube } from '../src/controller/probe-kube.js';
import type { LogFollow } from '../src/kube/follow-log.js';

interface Watcher {
  namespace: string;
  selector: string;
  onEvent: PodEvent;
  done: (err: unknown) => void;
  open: boolean;
}

/** `a`, `!a`, `a=b`, `a==b`, `a!=b`, comma-separated: the subset the run path uses, and a little more. */
export function matchesLabels(selector: string, labels: Readonly<Record<string, string>> = {}): boolean {
  return selector
    .split(',')
    .map((term) => term.trim())
    .filter((term) => term !== '')
    .every((term) => {
      const ne = /^([^!=]+)!=(.*)$/.exec(term);
      if (ne) return labels[ne[1] ?? ''] !== ne[2];
      const eq = /^([^!=]+)==?(.*)$/.exec(term);
      if (eq) return labels[eq[1] ?? ''] === eq[2];
      if (term.startsWith('!')) return !(term.slice(1) in labels);
      return term in labels;
    });
}

const notFound = (kind: string, name: string): ApiException<string> =>
  new ApiException(404, 'NotFound', JSON.stringify({ reason: 'NotFound', message: `${kind} "${name}" not found` }), {});

export class FakeKube implements ProbeKube {
  readonly pods = new Map<string, V1Pod>();
  readonly configMaps = new Map<string, V1ConfigMap>();
  /** Container logs by `namespace/pod/container`; a missing one reads as NotFound. */
  readonly logs = new Map<string, string>();
  /** Every delete, in order: `pod NS/NAME` or `configmap NS/NAME`. */
  readonly deletes: string[] = [];
  private readonly watchers: Watcher[] = [];
  private readonly followers: Array<{ key: string; follow: LogFollow; open: boolean }> = [];
  /** Every log follow, in order: `NS/POD/CONTAINER`. */
  readonly follows: string[] = [];
  private uids = 0;

  /** A mutating webhook: what admission makes of a pod before it is stored. */
  admit: (pod: V1Pod) => V1Pod = (pod) => pod;

  constructor(private readonly now: () => Date = () => new Date()) {}

  readonly core: ProbeKube['core'] = {
    createNamespacedPod: async ({ namespace, body }) => {
      const pod = this.store(this.pods, namespace, this.admit(structuredClone(body)), 'pods');
      this.emit('ADDED', pod);
      return pod;
    },
    createNamespacedConfigMap: async ({ namespace, body }) => this.store(this.configMaps, namespace, body, 'configmaps'),
    deleteNamespacedPod: async ({ namespace, name }) => {
      const pod = this.take(this.pods, namespace, name, 'pods');
      this.deletes.push(`pod ${namespace}/${name}`);
      this.emit('DELETED', pod);
      return pod;
    },
    deleteNamespacedConfigMap: async ({ namespace, name }) => {
      this.take(this.configMaps, namespace, name, 'configmaps');
      this.deletes.push(`configmap ${namespace}/${name}`);
      return { status: 'Success' };
    },
    listNamespacedPod: async ({ namespace, labelSelector }) => ({ items: this.list(this.pods, namespace, labelSelector) }),
    listNamespacedConfigMap: async ({ namespace, labelSelector }) => ({ items: this.list(this.configMaps, namespace, labelSelector) }),
    readNamespacedPod: async ({ namespace, name }) => {
      const pod = this.pods.get(`${namespace}/${name}`);
      if (pod === undefined) throw notFound('pods', name);
      return structuredClone(pod);
    },
    readNamespacedPodLog: async ({ namespace, name, container }) => {
      const text = this.logs.get(`${namespace}/${name}/${container ?? ''}`);
      if (text === undefined) throw notFound('pods/log', name);
      return text;
    },
    replaceNamespacedPodEphemeralcontainers: async ({ namespace, name, body }) => {
      if (!this.pods.has(`${namespace}/${name}`)) throw notFound('pods', name);
      const pod = structuredClone(body);
      this.pods.set(`${namespace}/${name}`, pod);
      this.emit('MODIFIED', pod);
      return pod;
    },
  };

  async watchPods(namespace: string, labelSelector: string, onEvent: PodEvent, done: (err: unknown) => void): Promise<AbortController> {
    const watcher: Watcher = { namespace, selector: labelSelector, onEvent, done, open: true };
    this.watchers.push(watcher);
    const controller = new AbortController();
    controller.signal.addEventListener('abort', () => {
      watcher.open = false;
    });
    return controller;
  }

  async followLog(follow: LogFollow): Promise<AbortController> {
    if (!this.pods.has(`${follow.namespace}/${follow.pod}`)) throw notFound('pods', follow.pod);
    const key = `${follow.namespace}/${follow.pod}/${follow.container}`;
    this.follows.push(key);
    const follower = { key, follow, open: true };
    this.followers.push(follower);
    const controller = new AbortController();
    controller.signal.addEventListener('abort', () => {
      follower.open = false;
    });
    // What the container wrote before the follow began comes first, as from the kubelet.
    const written = (this.logs.get(key) ?? '').split('\n').filter((l) => l !== '');
    queueMicrotask(() => {
      for (const line of written) if (follower.open) follow.onLine(line);
    });
    return controller;
  }

  /** The container writes a line: appended to its log and seen by every open follow of it. */
  writeLog(namespace: string, pod: string, container: string, line: string): void {
    const key = `${namespace}/${pod}/${container}`;
    this.logs.set(key, `${this.logs.get(key) ?? ''}${line}\n`);
    for (const f of this.followers) if (f.open && f.key === key) f.follow.onLine(line);
  }

  openFollows(): number {
    return this.followers.filter((f) => f.open).length;
  }

  /** A pod as if it was left by an earlier run: created `ageMs` ago, never watched. */
  seedPod(namespace: string, name: string, labels: Record<string, string>, ageMs: number): void {
    this.pods.set(`${namespace}/${name}`, { metadata: this.meta(namespace, name, labels, ageMs) });
  }

  seedConfigMap(namespace: string, name: string, labels: Record<string, string>, ageMs: number): void {
    this.configMaps.set(`${namespace}/${name}`, { metadata: this.meta(namespace, name, labels, ageMs) });
  }

  /** The kubelet's part: a new status for a pod, scheduled (once) to `node`, seen by every open watch on it. */
  setStatus(namespace: string, name: string, status: V1PodStatus, node?: string): void {
    const pod = this.pods.get(`${namespace}/${name}`);
    if (pod === undefined) throw new Error(`no pod ${namespace}/${name}`);
    const unscheduled = status.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False') === true;
    if (!unscheduled) pod.spec = { ...(pod.spec ?? { containers: [] }), nodeName: node ?? pod.spec?.nodeName ?? 'node-a' };
    pod.status = status;
    this.emit('MODIFIED', pod);
  }

  /** The server ends every open watch, as on an API server restart or its own timeout. */
  closeWatches(err?: unknown): void {
    for (const w of this.watchers.splice(0)) if (w.open) w.done(err);
  }

  openWatches(): number {
    return this.watchers.filter((w) => w.open).length;
  }

  podNames(namespace: string): string[] {
    return [...this.pods.values()].filter((p) => p.metadata?.namespace === namespace).map((p) => p.metadata?.name ?? '');
  }

  private meta(namespace: string, name: string, labels: Record<string, string>, ageMs: number): V1ObjectMeta {
    return {
      namespace,
      name,
      labels,
      uid: `uid-${++this.uids}`,
      creationTimestamp: new Date(this.now().getTime() - ageMs),
    };
  }

  private store<T extends { metadata?: V1ObjectMeta }>(into: Map<string, T>, namespace: string, body: T, kind: string): T {
    const name = body.metadata?.name ?? `${body.metadata?.generateName ?? kind}${this.uids + 1}`;
    if (into.has(`${namespace}/${name}`))
      throw new ApiException(409, 'AlreadyExists', JSON.stringify({ reason: 'AlreadyExists', message: `${kind} "${name}" exists` }), {});
    const object = structuredClone(body);
    object.metadata = { ...object.metadata, ...this.meta(namespace, name, object.metadata?.labels ?? {}, 0) };
    into.set(`${namespace}/${name}`, object);
    return structuredClone(object);
  }

  private take<T>(from: Map<string, T>, namespace: string, name: string, kind: string): T {
    const object = from.get(`${namespace}/${name}`);
    if (object === undefined) throw notFound(kind, name);
    from.delete(`${namespace}/${name}`);
    return object;
  }

  private list<T extends { metadata?: V1ObjectMeta }>(from: Map<string, T>, namespace: string, selector = ''): T[] {
    return [...from.values()]
      .filter((o) => o.metadata?.namespace === namespace && matchesLabels(selector, o.metadata?.labels))
      .map((o) => structuredClone(o));
  }

  private emit(type: string, pod: V1Pod): void {
    for (const w of this.watchers)
      if (w.open && w.namespace === pod.metadata?.namespace && matchesLabels(w.selector, pod.metadata?.labels))
        w.onEvent(type, structuredClone(pod));
  }
}

/** Polls until `ready()` holds: every 5 ms, at most `timeoutMs`. */
export async function until(ready: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
