/**
 * A loopback API server for code that talks through the real Kubernetes client: each request is
 * answered by the test's function (404 where it has none) and recorded as `METHOD path`, so
 * a test can say what a code path costs the API server as well as what it concluded.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
}

/** The body, with status 200 unless given. */
export interface ApiAnswer {
  status?: number;
  body: unknown;
}

export interface LoopbackApi {
  kubeconfig: string;
  /** `METHOD path` of every request, in arrival order. */
  requests: string[];
}

/** An API status body, as the client parses it into an ApiException. */
export const apiStatusBody = (code: number, reason: string, message = reason): ApiAnswer => ({
  status: code,
  body: { apiVersion: 'v1', kind: 'Status', status: 'Failure', code, reason, message },
});

export async function loopbackApi(
  t: { teardown: (fn: () => unknown) => void },
  answer: (request: ApiRequest) => ApiAnswer | undefined,
): Promise<LoopbackApi> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://loopback');
    requests.push(`${req.method} ${url.pathname}`);
    const { status = 200, body } =
      answer({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams }) ?? apiStatusBody(404, 'NotFound');
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const dir = mkdtempSync(join(tmpdir(), 'ev-loopback-api-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  const { port } = server.address() as AddressInfo;
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'lab', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token: 'x' } }],
      contexts: [{ name: 'lab', context: { cluster: 'lab', user: 'u' } }],
      'current-context': 'lab',
    }),
  );
  return { kubeconfig, requests };
}
