/**
 * A container's log followed line by line as the kubelet writes it. Not client-node's `Log`: it
 * pipes the response body without an error listener, so aborting the request (node-fetch emits
 * the abort as an 'error' on the body) would crash the controller.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface LogFollow {
  namespace: string;
  pod: string;
  container: string;
  /** Each complete line, without its newline. */
  onLine: (line: string) => void;
  /** Called once when the stream ends or fails; never after an abort. */
  done: (err?: Error) => void;
}

/** Starts following; abort the returned controller to stop. */
export async function followLog(config: KubeConfig, follow: LogFollow): Promise<AbortController> {
  const server = config.getCurrentCluster()?.server;
  if (server === undefined) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(`${server.replace(/\/$/, '')}/api/v1/namespaces/${follow.namespace}/pods/${follow.pod}/log`);
  url.searchParams.set('container', follow.container);
  url.searchParams.set('follow', 'true');
  const init = await config.applyToFetchOptions({});
  // node-fetch's Headers: iterable as [name, value] pairs.
  const headers = Object.fromEntries(init.headers as unknown as Iterable<[string, string]>);
  const controller = new AbortController();
  let finished = false;
  const end = (err?: Error): void => {
    if (finished) return;
    finished = true;
    if (!controller.signal.aborted) follow.done(err);
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = send(url, { agent: init.agent as never, headers, signal: controller.signal }, (res) => {
    res.on('error', end);
    if (res.statusCode !== 200) {
      res.resume();
      end(new Error(`following the log of ${follow.pod}: HTTP ${res.statusCode}`));
      return;
    }
    res.setEncoding('utf8');
    let partial = '';
    res.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) follow.onLine(line);
    });
    res.on('end', () => end());
  });
  req.on('error', end);
  req.end();
  return controller;
}
