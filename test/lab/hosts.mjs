// @ts-check
/**
 * The lab's small servers, run inside one namespace:
 *   node test/lab/hosts.mjs '<JSON HostService[]>'
 * Plain JavaScript (types from services.ts via JSDoc) so each namespace's server starts in a
 * tenth of a second instead of paying a TypeScript loader per process.
 * Prints `ready` once every listener is bound, and exits when its stdin closes, so a lab whose
 * owner died does not leave these behind.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, createServer as createTcpServer, isIPv6 } from 'node:net';
import { resolve } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { pathToFileURL } from 'node:url';

/** @typedef {import('./services.js').HostService} HostService */
/** @typedef {import('./services.js').HostReply} HostReply */
/** @typedef {import('./services.js').EchoBody} EchoBody */

const IDLE_MS = 30_000;
const ORIGIN_HEADER = 'x-lab-origin';

/**
 * @param {string} name
 * @param {HostReply} reply
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 */
function respond(name, reply, req, res) {
  // The origin's marker: a proxy's own page never carries it (the catalogue declares it).
  res.setHeader(ORIGIN_HEADER, name);
  switch (reply) {
    case 'echo': {
      /** @type {EchoBody} */
      const body = {
        service: name,
        remote: (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
        method: req.method ?? '',
        url: req.url ?? '',
        host: req.headers.host ?? null,
        headers: req.headers,
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
      return;
    }
    case 'kubelet':
      res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized\n');
      return;
    case 'apiserver':
      res.writeHead(403, { 'content-type': 'application/json' }).end(
        `${JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          message: 'forbidden: User "system:anonymous" cannot get path "/"',
          reason: 'Forbidden',
          code: 403,
        })}\n`,
      );
      return;
    case 'metadata':
      res
        .writeHead(200, { 'content-type': 'text/plain' })
        .end(req.url === '/' ? 'latest\n' : 'ami-id\ninstance-id\niam/\nlab-metadata-endpoint\n');
      return;
  }
}

/**
 * @param {import('node:net').Server} server
 * @param {string} host
 * @param {number} port
 * @returns {Promise<void>}
 */
function listen(server, host, port) {
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen({ host, port, ipv6Only: isIPv6(host) }, () => {
      server.off('error', fail);
      ok();
    });
  });
}

/** @param {import('node:net').Socket} socket */
function idle(socket) {
  socket.setTimeout(IDLE_MS, () => socket.destroy());
  socket.on('error', () => {});
}

/**
 * @param {HostService} svc
 * @returns {Promise<void>}
 */
function start(svc) {
  switch (svc.kind) {
    case 'http': {
      const server = createHttpServer((req, res) => respond(svc.name, svc.reply, req, res));
      server.on('connection', idle);
      return listen(server, svc.host, svc.port);
    }
    case 'https': {
      const server = createHttpsServer({ cert: readFileSync(svc.certFile), key: readFileSync(svc.keyFile) }, (req, res) =>
        respond(svc.name, svc.reply, req, res),
      );
      server.on('connection', idle);
      // Failed handshakes (a client that distrusts the CA) are expected; don't crash on them.
      server.on('tlsClientError', () => {});
      return listen(server, svc.host, svc.port);
    }
    case 'tcp-echo': {
      const server = createTcpServer((socket) => {
        idle(socket);
        socket.pipe(socket);
      });
      return listen(server, svc.host, svc.port);
    }
    case 'udp-echo': {
      const socket = createSocket({ type: isIPv6(svc.host) ? 'udp6' : 'udp4' });
      socket.on('message', (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address));
      return new Promise((ok, fail) => {
        socket.once('error', fail);
        socket.bind(svc.port, svc.host, () => {
          socket.off('error', fail);
          socket.on('error', () => {});
          ok();
        });
      });
    }
    case 'dot': {
      // DNS over TLS is DNS over TCP inside TLS: terminate TLS, splice onto the resolver's TCP 53.
      const server = createTlsServer({ cert: readFileSync(svc.certFile), key: readFileSync(svc.keyFile) }, (tls) => {
        idle(tls);
        const upstream = connect(svc.upstreamPort, svc.upstreamHost);
        idle(upstream);
        tls.pipe(upstream).pipe(tls);
        tls.on('close', () => upstream.destroy());
        upstream.on('close', () => tls.destroy());
      });
      server.on('tlsClientError', () => {});
      return listen(server, svc.host, svc.port);
    }
  }
}

async function main() {
  const raw = process.argv[2];
  if (!raw) throw new Error('usage: hosts.mjs <JSON HostService[]>');
  /** @type {HostService[]} */
  const services = JSON.parse(raw);
  await Promise.all(services.map(start));
  process.stdout.write('ready\n');
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((/** @type {unknown} */ err) => {
    process.stderr.write(`hosts: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
