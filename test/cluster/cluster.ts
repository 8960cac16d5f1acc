// Helpers for the tests against the lab cluster made by lab/cluster/up.sh.
// Everything goes through kubectl (the v1.34 client up.sh links next to the kubeconfig);
// every wait is bounded.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dump, load, loadAll } from 'js-yaml';
import type { Report } from '../../src/report/report.js';

export const STATE_DIR = process.env.EV_CLUSTER_STATE ?? '/var/lib/egress-verify-cluster';
export const KUBECONFIG = process.env.EV_KUBECONFIG ?? `${STATE_DIR}/admin.kubeconfig`;
export const KUBECTL = process.env.EV_KUBECTL ?? (existsSync(`${STATE_DIR}/bin/kubectl`) ? `${STATE_DIR}/bin/kubectl` : 'kubectl');
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const TOOLS_IMAGE = 'localhost/ev-tools:1';

/** A sleeping agent's pod spec (tools image, Pod Security "restricted") whose HTTPS_PROXY is `proxyUrl`. */
export function agentPodSpec(proxyUrl: string): Record<string, unknown> {
  return {
    terminationGracePeriodSeconds: 1,
    securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'app',
        image: TOOLS_IMAGE,
        imagePullPolicy: 'Never',
        command: ['sleep', 'infinity'],
        env: [{ name: 'HTTPS_PROXY', value: proxyUrl }],
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
  };
}
export const OUTSIDE_IP = '203.0.113.10';
export const OUTSIDE_NAME = 'site.egress-lab.test';
export const OUTSIDE_BODY = 'egress-verify outside site 203.0.113.10 OK';
export const REFERENCE_NS = 'production-agents';
/** Where the shipped manifests run the controller, apart from the namespace it tests. */
export const CONTROLLER_NS = 'egress-verify-system';

/**
 * The cluster suites never skip silently: without a cluster they fail, unless the skip was
 * asked for by name (EGRESS_VERIFY_SKIP=cluster), and then they say why.
 */
export function clusterSkip(): string | undefined {
  const reason = clusterUnavailable();
  if (reason === undefined) return undefined;
  if ((process.env.EGRESS_VERIFY_SKIP ?? '').split(',').includes('cluster')) return `EGRESS_VERIFY_SKIP=cluster: ${reason}`;
  throw new Error(`cluster tests cannot run: ${reason} (set EGRESS_VERIFY_SKIP=cluster to skip them on purpose)`);
}

/**
 * For suites written as a script: a skip asked for ends the file here, saying why. The suite
 * passes its tap root: benchmarks and scripts import this module too, and must not start one.
 */
export function exitIfClusterSkipped(t: { comment: (message: string) => void; end: () => void }): void {
  const skip = clusterSkip();
  if (skip === undefined) return;
  t.comment(`SKIPPED: ${skip}`);
  t.end();
  process.exit(0);
}

/** Why the suite cannot run, or undefined when a cluster seems to be up. */
export function clusterUnavailable(): string | undefined {
  if (!existsSync(KUBECONFIG)) return `no kubeconfig at ${KUBECONFIG}; run \`npm run cluster:up\``;
  const r = kubectl(['get', '--raw', '/readyz'], { timeoutMs: 10_000 });
  if (r.code !== 0) return `API server not ready: ${r.stderr.trim()}`;
  return undefined;
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Result {
  const r = spawnSync(cmd, args, {
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return {
    code: r.status ?? (r.error ? 127 : 128),
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '') + (r.error ? String(r.error) : ''),
  };
}

export function kubectl(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Result {
  return run(KUBECTL, ['--kubeconfig', KUBECONFIG, ...args], opts);
}

/** kubectl that must succeed. */
export function kc(args: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  const r = kubectl(args, opts);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export function apply(yaml: string): void {
  kc(['apply', '-f', '-'], { input: yaml });
}

/** Run a command in a pod's first container; a hung exec is cut off by timeoutMs. */
export function execIn(ns: string, pod: string, command: string[], timeoutMs = 30_000): Result {
  return kubectl(['-n', ns, 'exec', pod, '--', ...command], { timeoutMs });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll fn until it returns a value other than undefined, at most timeoutMs. */
export async function eventually<T>(what: string, timeoutMs: number, fn: () => T | undefined, intervalMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/** A sleeping tools pod (restricted-compliant), waited Ready. */
export function toolsPodYaml(ns: string, name: string, labels: Record<string, string> = {}, command?: string[]): string {
  const lab = Object.entries({ app: name, ...labels })
    .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
    .join('\n');
  const cmd = JSON.stringify(command ?? ['sleep', '3600']);
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${ns}
  labels:
${lab}
spec:
  terminationGracePeriodSeconds: 1
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    seccompProfile: {type: RuntimeDefault}
  containers:
    - name: tools
      image: ${TOOLS_IMAGE}
      imagePullPolicy: Never
      command: ${cmd}
      securityContext:
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
`;
}

export function waitPodReady(ns: string, pod: string, timeoutS = 90): void {
  kc(['-n', ns, 'wait', '--for=condition=Ready', `pod/${pod}`, `--timeout=${timeoutS}s`], {
    timeoutMs: (timeoutS + 10) * 1000,
  });
}

export function firstPod(ns: string, selector: string): string {
  const name = kc(['-n', ns, 'get', 'pods', '-l', selector, '-o', 'jsonpath={.items[0].metadata.name}']).trim();
  if (!name) throw new Error(`no pod matches ${selector} in ${ns}`);
  return name;
}

/** A direct TCP+TLS attempt to the outside site that ignores any proxy settings. */
export function directHttps(ns: string, pod: string, connectTimeoutS = 3): Result {
  return execIn(ns, pod, [
    'env',
    '-i',
    'curl',
    '-sk',
    '--noproxy',
    '*',
    '--connect-timeout',
    String(connectTimeoutS),
    '--max-time',
    String(connectTimeoutS + 3),
    `https://${OUTSIDE_IP}/`,
  ]);
}

/** The project's image, as scripts/build-image.sh imports it. */
export const PROBE_IMAGE = process.env.EV_PROBE_IMAGE ?? 'localhost/egress-verify:0.1.0';
/** Lab targets only: the product's default catalogue (public addresses) is never dialled here. */
export const LAB_CATALOGUE = resolve(REPO_ROOT, 'test/cluster/catalogue.yaml');
export const CLI = resolve(REPO_ROOT, 'dist/src/cli.js');

/** `egress-verify run` pointed at the lab cluster, its image, its catalogue and the companion's CA. */
export const LAB_RUN_ARGS: readonly string[] = [
  'run',
  '--kubeconfig',
  KUBECONFIG,
  '--image',
  PROBE_IMAGE,
  '--image-pull-policy',
  'Never',
  '--catalogue',
  LAB_CATALOGUE,
  '--companion-ca',
  'secret/guardian-tls-ca:ca.pem',
];

/** The lab's run arguments with the start timeout every cluster suite uses. */
export const LAB_RUN_BASE: readonly string[] = [...LAB_RUN_ARGS, '--start-timeout', '60'];

export interface CliRun extends Result {
  report?: Report;
}

/** The CLI with these arguments plus TAP on stdout and a JSON report in `scratch`, read back. */
export function runCli(args: string[], scratch: string, timeoutMs = 180_000): CliRun {
  const reportFile = resolve(scratch, `report-${Date.now()}-${Math.random().toString(36).slice(2, 6)}.json`);
  const r = run('node', [CLI, ...args, '-o', 'tap', '-o', `json=${reportFile}`], { timeoutMs });
  let report: Report | undefined;
  try {
    report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
  } catch {
    report = undefined;
  }
  return { ...r, ...(report ? { report } : {}) };
}

/** `egress-verify run` on the lab: TAP on stdout, and the JSON report read back (absent when none was written). */
export function runEgressVerify(scratch: string, args: readonly string[], timeoutMs = 180_000): CliRun {
  return runCli([...LAB_RUN_BASE, ...args], scratch, timeoutMs);
}

export const probePods = (ns = REFERENCE_NS): string[] =>
  kc(['-n', ns, 'get', 'pods', '-l', 'egress-verify.dev/run', '-o', 'jsonpath={.items[*].metadata.name}']).split(' ').filter(Boolean);

/** Replaces restrict-workload-egress with a policy that allows all egress, for the duration of fn. */
export async function withWideOpenEgress<T>(fn: () => Promise<T>, ns = REFERENCE_NS): Promise<T> {
  const original = kc(['-n', ns, 'get', 'networkpolicy', 'restrict-workload-egress', '-o', 'yaml']);
  const policy = load(original) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  const open = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'restrict-workload-egress', namespace: ns },
    spec: { podSelector: policy.spec.podSelector, policyTypes: ['Egress'], egress: [{}] },
  };
  kc(['-n', ns, 'replace', '-f', '-'], { input: dump(open) });
  try {
    await sleep(3000); // kube-router applies policy changes asynchronously
    return await fn();
  } finally {
    const restored = { ...policy, metadata: { name: 'restrict-workload-egress', namespace: ns } };
    kc(['-n', ns, 'replace', '-f', '-'], { input: dump(restored) });
    await sleep(3000);
  }
}

/** Scales the companion to 0 and waits its pods gone; returns what scales it back and waits it ready. */
export function scaleCompanionToZero(ns = REFERENCE_NS): () => void {
  kc(['-n', ns, 'scale', 'deployment/egress-guardian', '--replicas=0']);
  kc(['-n', ns, 'wait', '--for=delete', 'pod', '-l', 'app=egress-guardian', '--timeout=90s'], { timeoutMs: 100_000 });
  return () => {
    kc(['-n', ns, 'scale', 'deployment/egress-guardian', '--replicas=1']);
    kc(['-n', ns, 'rollout', 'status', 'deployment/egress-guardian', '--timeout=120s'], { timeoutMs: 130_000 });
  };
}

/**
 * The controller's namespace, RBAC and NetworkPolicy from manifests/, and, in its namespace, the
 * lab catalogue and the companion's CA certificate (only the certificate) as ConfigMaps.
 */
/** The reference companion's CA certificate, without the key its Secret also holds. */
export function companionCaCert(): string {
  const pem = Buffer.from(
    kc(['-n', REFERENCE_NS, 'get', 'secret', 'guardian-tls-ca', '-o', 'jsonpath={.data.ca\\.pem}']),
    'base64',
  ).toString('utf8');
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? []).join('');
}

export function installController(): void {
  for (const file of ['namespace.yaml', 'rbac.yaml', 'controller-networkpolicy.yaml'])
    for (const doc of loadAll(readFileSync(resolve(REPO_ROOT, 'manifests', file), 'utf8')) as Record<string, unknown>[])
      apply(dump(toLabApiServer(doc)));
  const cert = companionCaCert();
  apply(
    dump({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'egress-verify-companion-ca', namespace: CONTROLLER_NS },
      data: { 'ca.crt': cert },
    }),
  );
  apply(
    dump({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'egress-verify-lab-catalogue', namespace: CONTROLLER_NS },
      data: { 'catalogue.yaml': readFileSync(LAB_CATALOGUE, 'utf8') },
    }),
  );
}

/**
 * The controller's NetworkPolicy narrowed to this cluster's API server, the patch docs/install.md asks
 * of every install: the lab's API server has a documentation address, not a private one.
 */
// biome-ignore lint/suspicious/noExplicitAny: a test edits a manifest in place, field by field.
export function toLabApiServer(doc: Record<string, any>): Record<string, unknown> {
  if (doc.kind !== 'NetworkPolicy' || doc.metadata?.name !== 'egress-verify-controller') return doc;
  const addresses = kc([
    'get',
    'endpointslices',
    '-n',
    'default',
    '-l',
    'kubernetes.io/service-name=kubernetes',
    '-o',
    'jsonpath={.items[*].endpoints[*].addresses[*]}',
  ])
    .split(/\s+/)
    .filter(Boolean);
  if (addresses.length === 0) throw new Error('the lab API server has no endpoint address');
  doc.spec.egress[0].to = addresses.map((a) => ({ ipBlock: { cidr: `${a}/32` } }));
  return doc;
}

/** A shipped Job or CronJob (as parsed from manifests/), pointed at the lab: local image, lab catalogue. */
// biome-ignore lint/suspicious/noExplicitAny: a test edits a manifest in place, field by field.
export function pointAtLab(doc: Record<string, any>): Record<string, unknown> {
  const jobSpec = doc.kind === 'Job' ? doc.spec : doc.spec.jobTemplate.spec;
  const pod = jobSpec.template.spec;
  const c = pod.containers[0];
  c.image = PROBE_IMAGE;
  c.imagePullPolicy = 'Never';
  c.args.push('--image-pull-policy=Never', '--catalogue=/catalogue/catalogue.yaml');
  c.env = c.env.map((e: { name: string }) => (e.name === 'EGRESS_VERIFY_IMAGE' ? { ...e, value: PROBE_IMAGE } : e));
  c.volumeMounts.push({ name: 'catalogue', mountPath: '/catalogue', readOnly: true });
  pod.volumes.push({ name: 'catalogue', configMap: { name: 'egress-verify-lab-catalogue' } });
  return doc;
}

/** How a Job ended: the controller's exit code decides (backoffLimit 0, so one pod). */
export function jobOutcome(name: string, ns = CONTROLLER_NS): Promise<'succeeded' | 'failed'> {
  return eventually(
    `Job ${name} to finish`,
    240_000,
    () => {
      const s = kc(['-n', ns, 'get', 'job', name, '-o', 'jsonpath={.status.succeeded}/{.status.failed}']).trim();
      return s === '1/' ? 'succeeded' : s.endsWith('/1') ? 'failed' : undefined;
    },
    2000,
  );
}

/**
 * The project's image as a bare pod running `egress-verify --version`, Pod Security "restricted"
 * like a probe pod, waited until it Succeeded.
 */
export function runVersionPod(name: string, ns = REFERENCE_NS): void {
  apply(`apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext: { runAsNonRoot: true, seccompProfile: { type: RuntimeDefault } }
  containers:
    - name: egress-verify
      image: ${PROBE_IMAGE}
      imagePullPolicy: Never
      args: ['--version']
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: [ALL] } }
`);
  kc(['-n', ns, 'wait', '--for=jsonpath={.status.phase}=Succeeded', `pod/${name}`, '--timeout=120s'], { timeoutMs: 130_000 });
}

/** Where `run --control-namespace` puts the control pod in the lab: manifests/control/, applied by the suites that use it. */
export const CONTROL_NS = 'egress-verify-control';
const CONTROL_MANIFEST = resolve(REPO_ROOT, 'manifests/control/control-namespace.yaml');

/** Applies the control namespace and its RBAC; returns what deletes them again. */
export function installControlNamespace(): () => void {
  for (const doc of loadAll(readFileSync(CONTROL_MANIFEST, 'utf8'))) apply(dump(doc));
  return () => {
    kubectl(['delete', '-f', CONTROL_MANIFEST, '--ignore-not-found', '--wait=true', '--timeout=90s'], { timeoutMs: 100_000 });
  };
}

/** lab/cluster/apply-reference.sh: the reference as shipped, `env` choosing its companion (EV_COMPANION). */
export function applyReference(env: Record<string, string> = {}): void {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const r = run('env', [...vars, 'bash', resolve(REPO_ROOT, 'lab/cluster/apply-reference.sh')], { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`apply-reference.sh ${vars.join(' ')} failed: ${r.stdout}${r.stderr}`);
}

/**
 * Sets (`NAME=value`) or removes (`NAME-`) the reference companion's environment variables, and
 * waits until only the new pod is left: the old pod's log or policy must not answer for it.
 */
export function setCompanionEnv(changes: readonly string[], ns = REFERENCE_NS): void {
  kc(['-n', ns, 'set', 'env', 'deployment/egress-guardian', ...changes]);
  kc(['-n', ns, 'rollout', 'status', 'deployment/egress-guardian', '--timeout=120s'], { timeoutMs: 130_000 });
  for (let i = 0; i < 60; i++) {
    const pods = kc(['-n', ns, 'get', 'pods', '-l', 'app=egress-guardian', '-o', 'jsonpath={.items[*].metadata.name}']);
    if (pods.trim().split(/\s+/).length === 1) return;
    run('sleep', ['1']);
  }
  throw new Error('the old companion pod did not go away');
}
