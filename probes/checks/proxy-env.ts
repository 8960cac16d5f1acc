import { request as httpsRequest } from 'node:https';
import { EnvHttpProxyAgent, request, errors as undiciErrors } from 'undici';
import type { Observation, ProxyEnvCheck } from '../base/model.js';
import { noProxyOf, proxyForUrl } from '../base/proxy-env.js';
import { markedUrl, receiptHeaders } from '../base/receipt.js';
import { abortable } from './deadline.js';
import { bodyPrefix, type HttpAnswer, judgeAnswer } from './origin.js';
import { errorCode, errorText, socketOutcome } from './socket-outcome.js';
import { reachCompanion } from './tunnel.js';

type Partial = Omit<Observation, 'durationMs'>;

/**
 * A request exactly as the application makes it: HTTPS_PROXY / NO_PROXY from the pod's
 * environment, through undici's EnvHttpProxyAgent (or a SOCKS agent for socks5 proxies).
 */
export async function runProxyEnv(check: ProxyEnvCheck, signal: AbortSignal, ca: string | undefined): Promise<Partial> {
  const proxy = proxyForUrl(check.url, process.env);
  const facts = { proxy: proxy ?? 'none', noProxy: noProxyOf(process.env) ?? '' };
  try {
    // Whether the companion accepts connections at all tells a broken path from a slow origin.
    const companionUp = proxy === undefined ? Promise.resolve(false) : accepts(proxy, signal);
    const answer = await abortable(
      proxy?.startsWith('socks') ? socksGet(check, proxy, ca, signal) : undiciGet(check, proxy, facts.noProxy, ca, signal),
      signal,
    );
    if (answer === 'deadline') {
      if (await companionUp) {
        return {
          outcome: 'companion-slow',
          class: 'indeterminate',
          detail: `${proxy} accepted the connection but no response came before the deadline`,
          facts,
        };
      }
      return {
        outcome: proxy === undefined ? 'timeout' : 'proxy-unreachable',
        class: 'blocked',
        detail: `no response before the deadline via ${facts.proxy}`,
        facts,
      };
    }
    const judged = judgeAnswer(answer, check.origin);
    return { ...judged, detail: `${judged.detail} via ${facts.proxy}`, facts: { ...facts, ...judged.facts } };
  } catch (err) {
    return { ...classifyEnvError(err, signal), facts };
  }
}

async function undiciGet(
  check: ProxyEnvCheck,
  proxy: string | undefined,
  noProxy: string,
  ca: string | undefined,
  signal: AbortSignal,
): Promise<HttpAnswer> {
  const tls = ca === undefined ? {} : { ca };
  // The proxy chosen above, not undici's own reading of the environment (which ignores ALL_PROXY
  // and takes HTTP_PROXY): the request goes where the facts say. '' is undici's "no proxy".
  const dispatcher = new EnvHttpProxyAgent({ httpProxy: proxy ?? '', httpsProxy: proxy ?? '', noProxy, connect: tls, requestTls: tls });
  try {
    const res = await request(markedUrl(check.url, check.receipt), {
      dispatcher,
      signal,
      headers: { ...receiptHeaders(check.receipt), 'user-agent': 'egress-verify' },
    });
    return { status: res.statusCode, headers: res.headers, body: await bodyPrefix(res.body) };
  } finally {
    // Not awaited: destroy waits for a connect stuck in getaddrinfo, which cannot be cancelled.
    void dispatcher.destroy().catch(() => undefined);
  }
}

async function accepts(proxy: string, signal: AbortSignal): Promise<boolean> {
  const reached = await reachCompanion(proxy, signal);
  if (reached.ok) reached.socket.destroy();
  return reached.ok;
}

async function socksGet(check: ProxyEnvCheck, proxy: string, ca: string | undefined, signal: AbortSignal): Promise<HttpAnswer> {
  // Loaded only for a SOCKS proxy: the agent and its dependencies cost every other probe pod
  // a tenth of its start-up CPU.
  const { SocksProxyAgent } = await import('socks-proxy-agent');
  return new Promise((resolve, reject) => {
    const agent = new SocksProxyAgent(proxy);
    const req = httpsRequest(markedUrl(check.url, check.receipt), {
      agent,
      ca,
      signal,
      headers: { ...receiptHeaders(check.receipt), 'user-agent': 'egress-verify' },
    });
    req.once('response', (res) => {
      bodyPrefix(res).then((body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }), reject);
    });
    req.once('error', reject);
    req.end();
  });
}

function classifyEnvError(err: unknown, signal: AbortSignal): Omit<Partial, 'facts'> {
  const text = errorText(err instanceof Error && err.cause !== undefined ? err.cause : err);
  if (signal.aborted) return { outcome: 'timeout', class: 'blocked', detail: 'no response before the deadline', error: text };
  const proxyStatus = /Proxy response \((\d{3})\)/.exec(text)?.[1];
  if (proxyStatus !== undefined) {
    const status = Number(proxyStatus);
    const detail = `proxy answered CONNECT with ${status}`;
    return status >= 500
      ? { outcome: 'upstream-error', class: 'indeterminate', detail, error: text }
      : { outcome: 'proxy-refused', class: 'blocked', detail, error: text };
  }
  // The application would refuse this certificate: its path is broken, whichever CA issued it.
  if (/certificate|self.signed|UNABLE_TO_VERIFY|CERT_/i.test(text))
    return { outcome: 'tls-error', class: 'blocked', detail: `TLS: ${text}`, error: text };
  const cause = err instanceof Error && err.cause !== undefined ? err.cause : err;
  const code = errorCode(cause);
  if (err instanceof undiciErrors.ConnectTimeoutError) return { outcome: 'timeout', class: 'blocked', detail: text, error: text };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return { outcome: 'dns-failure', class: 'blocked', detail: `name does not resolve: ${text}`, error: text };
  return { ...socketOutcome(code), detail: text, error: text };
}
