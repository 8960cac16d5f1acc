/**
 * The Kubernetes edge: loading credentials like kubectl, typed API clients, and turning API
 * failures into one-line errors with the documented exit codes.
 */

import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createSecureContext } from 'node:tls';
import {
  ApiException,
  AppsV1Api,
  AuthorizationV1Api,
  BatchV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  NetworkingV1Api,
} from '@kubernetes/client-node';
import { InfrastructureError, UsageError } from '../base/errors.js';
import { log } from '../base/log.js';

export interface KubeOptions {
  kubeconfig?: string;
  context?: string;
}

export interface Kube {
  config: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  networking: NetworkingV1Api;
  discovery: DiscoveryV1Api;
  authz: AuthorizationV1Api;
  server: string;
}

/**
 * Counts the requests made with it: every API client and watch authenticates each request
 * through its KubeConfig. What a run costs the API server is logged at exit (level info), for
 * operators sizing a cluster-wide audit and for `npm run bench:cluster`.
 *
 * It also hands every request one HTTPS agent per set of TLS credentials. client-node makes a new
 * agent per request, so each connection parsed the CA, certificate and key again and made a full
 * handshake: with a run's hundreds of requests that was a third of the controller's CPU. A shared
 * agent keeps one secure context and resumes TLS sessions. Connections are not kept alive, as
 * before: a pooled connection the API server has closed while idle would fail the next request.
 */
class CountingKubeConfig extends KubeConfig {
  requests = 0;
  private readonly agents = new Map<string, HttpsAgent>();

  override async applySecurityAuthentication(...args: Parameters<KubeConfig['applySecurityAuthentication']>): Promise<void> {
    this.requests++;
    await super.applySecurityAuthentication(...args);
    const [context] = args;
    const agent = context.getAgent();
    if (agent !== undefined) context.setAgent(this.shared(agent));
  }

  override async applyToFetchOptions(
    ...args: Parameters<KubeConfig['applyToFetchOptions']>
  ): ReturnType<KubeConfig['applyToFetchOptions']> {
    this.requests++;
    const init = await super.applyToFetchOptions(...args);
    return init.agent instanceof HttpAgent ? { ...init, agent: this.shared(init.agent) } : init;
  }

  /** Plain HTTPS agents only: proxy agents (the kubeconfig's proxy-url) and plain HTTP are left as made. */
  private shared(agent: HttpAgent | HttpsAgent): HttpAgent | HttpsAgent {
    if (agent.constructor !== HttpsAgent) return agent;
    const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = (agent as HttpsAgent).options;
    const id = JSON.stringify(
      [ca, cert, key, pfx, passphrase, rejectUnauthorized, servername].map((v) => (v === undefined ? null : String(v))),
    );
    let made = this.agents.get(id);
    if (made === undefined) {
      made = new HttpsAgent({
        ...(rejectUnauthorized === undefined ? {} : { rejectUnauthorized }),
        ...(servername === undefined ? {} : { servername }),
        secureContext: createSecureContext({ ca, cert, key, pfx, passphrase }),
      });
      this.agents.set(id, made);
    }
    return made;
  }
}

export function connectKube(opts: KubeOptions): Kube {
  const config = new CountingKubeConfig();
  process.once('exit', () => log.info({ apiRequests: config.requests }, 'Kubernetes API requests made'));
  try {
    if (opts.kubeconfig !== undefined) config.loadFromFile(opts.kubeconfig);
    else config.loadFromDefault();
  } catch (err) {
    throw new UsageError(`cannot load kubeconfig ${opts.kubeconfig ?? '(default)'}: ${(err as Error).message.split('\n')[0]}`, {
      cause: err,
    });
  }
  if (opts.context !== undefined) {
    if (!config.getContexts().some((c) => c.name === opts.context))
      throw new UsageError(`context "${opts.context}" is not in the kubeconfig`);
    config.setCurrentContext(opts.context);
  }
  const cluster = config.getCurrentCluster();
  if (cluster === null) throw new UsageError('the kubeconfig has no current cluster');
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    apps: config.makeApiClient(AppsV1Api),
    batch: config.makeApiClient(BatchV1Api),
    networking: config.makeApiClient(NetworkingV1Api),
    discovery: config.makeApiClient(DiscoveryV1Api),
    authz: config.makeApiClient(AuthorizationV1Api),
    server: cluster.server,
  };
}

/** Requests made through this connection so far. */
export const apiRequests = (kube: Pick<Kube, 'config'>): number => (kube.config instanceof CountingKubeConfig ? kube.config.requests : 0);

/** The API's reason (NotFound, Forbidden, ...) and message, from an ApiException's JSON body. */
export function apiStatus(err: unknown): { code: number; reason: string; message: string } | undefined {
  if (!(err instanceof ApiException)) return undefined;
  let reason = '';
  let message = '';
  try {
    const body = (typeof err.body === 'string' ? JSON.parse(err.body) : err.body) as { reason?: string; message?: string };
    reason = body.reason ?? '';
    message = body.message ?? '';
  } catch {
    message = String(err.body).slice(0, 200);
  }
  return { code: err.code, reason, message };
}

export const isNotFound = (err: unknown): boolean => apiStatus(err)?.code === 404;

/** Wraps an API call so any failure reads as one line naming what was being done. */
export async function kubeCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw kubeError(what, err);
  }
}

export function kubeError(what: string, err: unknown): Error {
  const status = apiStatus(err);
  if (status !== undefined) {
    const detail = status.message || status.reason || `HTTP ${status.code}`;
    // RBAC says "User X cannot VERB resource"; other 403s come from admission (PodSecurity, LimitRanger, webhooks).
    if (status.code === 403 && /cannot \w+ resource/.test(detail))
      return new InfrastructureError(`${what}: forbidden by RBAC (${detail})`, { cause: err });
    if (status.code === 403) return new InfrastructureError(`${what}: rejected by admission (${detail})`, { cause: err });
    return new InfrastructureError(`${what}: ${detail}`, { cause: err });
  }
  const code = (err as { code?: string; cause?: { code?: string } }).code ?? (err as { cause?: { code?: string } }).cause?.code;
  const text = (err as Error).message?.split('\n')[0] ?? String(err);
  if (
    code === 'ECONNREFUSED' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENOTFOUND' ||
    code === 'ETIMEDOUT' ||
    /ECONNREFUSED|ETIMEDOUT|ENOTFOUND/.test(text)
  ) {
    return new InfrastructureError(`${what}: the API server is unreachable (${text})`, { cause: err });
  }
  return new InfrastructureError(`${what}: ${text}`, { cause: err });
}
