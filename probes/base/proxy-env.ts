/**
 * Which proxy an application takes from its environment: the one reader for the probe's
 * proxy-env check, `run`'s default companion and the audit. curl's documented rules, since
 * most HTTP stacks follow them: for https, `https_proxy` then `HTTPS_PROXY`; for http,
 * `http_proxy` in lowercase only (curl refuses `HTTP_PROXY`: a CGI program gets it from a
 * request's `Proxy:` header, "httpoxy"); `all_proxy` then `ALL_PROXY` when neither is set;
 * `no_proxy` then `NO_PROXY`. Lowercase first throughout, and an empty value counts as unset.
 */
import type { Environment } from '../../src/base/environment.js';

const SCHEME_VARS: Record<'http' | 'https', readonly string[]> = {
  http: ['http_proxy'],
  https: ['https_proxy', 'HTTPS_PROXY'],
};

const first = (env: Environment, names: readonly string[]): string | undefined =>
  names.map((n) => env[n]).find((v) => v !== undefined && v !== '');

/** The proxy for requests of this scheme, if any. */
export function proxyFor(scheme: 'http' | 'https', env: Environment): string | undefined {
  return first(env, [...SCHEME_VARS[scheme], 'all_proxy', 'ALL_PROXY']);
}

/** The proxy for this URL (http:// or https://; any other scheme gets only ALL_PROXY's). */
export function proxyForUrl(url: string, env: Environment): string | undefined {
  const scheme = new URL(url).protocol.replace(/:$/, '');
  return scheme === 'http' || scheme === 'https' ? proxyFor(scheme, env) : first(env, ['all_proxy', 'ALL_PROXY']);
}

export function noProxyOf(env: Environment): string | undefined {
  return first(env, ['no_proxy', 'NO_PROXY']);
}
