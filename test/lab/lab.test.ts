/**
 * Proves the lab itself with plain tools run from the workload namespace: what the article's
 * policy blocks, what the companion lets through, and that close() leaves nothing behind.
 * Needs root. Run: npx tap --disable-coverage test/lab/lab.test.ts
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { type Lab, startLab } from './lab.js';

t.setTimeout(120_000);

const started = Date.now();
const lab: Lab = await startLab();
const startupMs = Date.now() - started;
t.teardown(() => lab.close());

const scratch = mkdtempSync(join(tmpdir(), 'evl-test-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
const companionCa = join(scratch, 'companion-ca.pem');
const outsideCa = join(scratch, 'outside-ca.pem');
writeFileSync(companionCa, lab.companionCaPem);
writeFileSync(outsideCa, lab.outsideCaPem);

const outsideUrl = `https://${lab.addr.outsideHttps}/`;
const companionHttp = `http://${lab.addr.companion}:8080`;

/** curl from the workload. A dropped connect ends in exit 28 (timeout) after 2 s. */
function curl(args: string[]) {
  return lab.exec(['curl', '-sS', '-v', '--connect-timeout', '2', '--max-time', '6', ...args], { timeoutMs: 15_000 });
}

/** The issuer curl printed for the server certificate it verified. */
function issuer(stderr: string): string {
  return /^\*\s+issuer: (.*)$/m.exec(stderr)?.[1] ?? '';
}

/** JSON the outside host echoes: `remote` is who connected to it. */
function remoteOf(stdout: string): string {
  try {
    return (JSON.parse(stdout) as { remote?: string }).remote ?? '';
  } catch {
    return '';
  }
}

t.test('starts in a few seconds', async (t) => {
  t.comment(`startup ${startupMs} ms, lab ${lab.id}`);
  t.ok(startupMs < 30_000, 'started within 30 s (about 3.5 s on an idle 2-CPU machine)');
  t.match(lab.companionCaPem, /BEGIN CERTIFICATE/);
  t.match(lab.outsideCaPem, /BEGIN CERTIFICATE/);
});

t.test("under 'article'", async (t) => {
  await lab.setPolicy('article');

  const direct = await curl(['--cacert', outsideCa, outsideUrl]);
  t.equal(direct.code, 28, 'direct HTTPS to the internet times out');

  const direct6 = await curl(['--cacert', outsideCa, `https://[${lab.addr.outsideHttps6}]/`]);
  t.equal(direct6.code, 28, 'direct HTTPS over v6 times out');

  const metadata = await curl([`http://${lab.addr.metadata}/latest/meta-data/`]);
  t.equal(metadata.code, 28, 'cloud metadata times out');

  const kubelet = await curl(['-k', `https://${lab.addr.node}:10250/`]);
  t.equal(kubelet.code, 28, 'the node (kubelet) times out');

  const otherPort = await curl([`http://${lab.addr.companion}:9090/`]);
  t.equal(otherPort.code, 28, "the companion's non-proxy port times out");

  const viaHttp = await curl(['-x', companionHttp, '--cacert', companionCa, outsideUrl]);
  t.equal(viaHttp.code, 0, 'HTTP CONNECT through the companion works', { stderr: viaHttp.stderr });
  t.match(issuer(viaHttp.stderr), /mitmproxy/, "the certificate is issued by mitmproxy's CA");
  t.equal(remoteOf(viaHttp.stdout), lab.addr.companion, 'the outside host saw the companion');

  const trustsOnlyOutside = await curl(['-x', companionHttp, '--cacert', outsideCa, outsideUrl]);
  t.equal(trustsOnlyOutside.code, 60, 'interception is visible to a client trusting only the public CA');

  const viaSocks = await curl(['-x', `socks5h://${lab.addr.companion}:1080`, '--cacert', companionCa, `https://${lab.names.outside}/`]);
  t.equal(viaSocks.code, 0, 'socks5h through the companion works', { stderr: viaSocks.stderr });
  t.match(issuer(viaSocks.stderr), /mitmproxy/);
});

t.test('cluster DNS', async (t) => {
  const companion = await lab.exec(['getent', 'hosts', lab.names.companionFqdn]);
  t.equal(companion.code, 0);
  t.match(companion.stdout, new RegExp(`^${lab.addr.companion.replaceAll('.', '\\.')}\\s`), 'companion FQDN resolves');

  const short = await lab.exec(['getent', 'hosts', 'egress-guardian-svc']);
  t.match(short.stdout, lab.addr.companion, 'the search path finds the short name');

  const api = await lab.exec(['getent', 'hosts', lab.names.kubernetes]);
  t.match(api.stdout, lab.addr.apiServer);

  const unknown = await lab.exec(['getent', 'hosts', 'no-such-svc.production-agents.svc.cluster.local']);
  t.equal(unknown.code, 2, 'other cluster names do not exist');

  const label = `lab${randomBytes(6).toString('hex')}`;
  const exfil = await lab.exec(['getent', 'hosts', `${label}.${lab.names.exfilZone}`]);
  t.equal(exfil.code, 0, 'an exfil-zone name resolves through cluster DNS recursion');
  const seen = await lab.authQueries();
  t.ok(seen.includes(`${label}.${lab.names.exfilZone}`), 'the authoritative server saw the name');
});

t.test("under 'wide-open'", async (t) => {
  await lab.setPolicy('wide-open');
  t.teardown(() => lab.setPolicy('article'));

  const direct = await curl(['--cacert', outsideCa, outsideUrl]);
  t.equal(direct.code, 0, 'direct HTTPS works', { stderr: direct.stderr });
  t.match(issuer(direct.stderr), /Lab Public Root CA/);
  t.equal(remoteOf(direct.stdout), lab.addr.workload, 'the outside host saw the workload itself');

  const direct6 = await curl(['--cacert', outsideCa, `https://[${lab.addr.outsideHttps6}]/`]);
  t.equal(direct6.code, 0, 'direct HTTPS over v6 works');
  t.equal(remoteOf(direct6.stdout), lab.addr.workload6);

  const metadata = await curl([`http://${lab.addr.metadata}/latest/meta-data/`]);
  t.equal(metadata.code, 0, 'cloud metadata answers');

  const kubelet = await curl(['-k', '-o', '/dev/null', '-w', '%{http_code}', `https://${lab.addr.node}:10250/`]);
  t.equal(kubelet.stdout, '401', 'the kubelet answers 401');

  // UDP 443 ("QUIC") echo and DNS-over-TLS, with Node's own clients.
  const probe = await lab.exec([process.execPath, '--input-type=module', '-'], {
    env: { OUTSIDE_CA: lab.outsideCaPem },
    timeoutMs: 15_000,
    input: `
      import dgram from 'node:dgram';
      import tls from 'node:tls';
      const udp = await new Promise((ok) => {
        const s = dgram.createSocket('udp4');
        const timer = setTimeout(() => { s.close(); ok('timeout'); }, 2000);
        s.on('message', (m) => { clearTimeout(timer); s.close(); ok(m.toString()); });
        s.send('quic?', 443, '${lab.addr.outsideHttps}');
      });
      // A DNS query for outside.test A, length-prefixed as DNS over TCP/TLS requires.
      const q = Buffer.from('abcd01000001000000000000076f757473696465047465737400000100 01'.replace(/ /g, ''), 'hex');
      const dot = await new Promise((ok) => {
        const c = tls.connect({ host: '${lab.addr.outsideResolver}', port: 853, ca: process.env.OUTSIDE_CA, servername: '${lab.names.resolverHttps}' }, () => {
          const len = Buffer.alloc(2); len.writeUInt16BE(q.length);
          c.write(Buffer.concat([len, q]));
        });
        let buf = Buffer.alloc(0);
        c.on('data', (d) => { buf = Buffer.concat([buf, d]); if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) { c.end(); ok(buf.subarray(-4).join('.')); } });
        c.on('error', (e) => ok('error ' + e.message));
        setTimeout(() => { c.destroy(); ok('timeout'); }, 3000);
      });
      console.log(JSON.stringify({ udp, dot }));
    `,
  });
  t.same(JSON.parse(probe.stdout || '{}'), { udp: 'quic?', dot: lab.addr.outsideHttps }, 'UDP 443 echoes; DoT resolves outside.test', {
    stderr: probe.stderr,
  });
});

/** An A lookup sent straight to `server` (no search path), 1 s timeout, one try: the addresses or the error code. */
async function resolveVia(server: string, name: string): Promise<string> {
  const script = `const r = new (require('node:dns').Resolver)({ timeout: 1000, tries: 1 });
    r.setServers([process.argv[1]]);
    r.resolve4(process.argv[2], (e, a) => console.log(e ? e.code : a.join(',')));`;
  const r = await lab.exec([process.execPath, '-e', script, server, name], { timeoutMs: 10_000 });
  return r.stdout.trim();
}

t.test('the other policies', async (t) => {
  t.teardown(() => lab.setPolicy('article'));

  await lab.setPolicy('article');
  t.equal(await resolveVia(lab.addr.outsideResolver, lab.names.outside), 'ETIMEOUT', "article: an outside resolver can't be asked");

  await lab.setPolicy('https-only');
  const https = await curl(['--cacert', outsideCa, outsideUrl]);
  t.equal(https.code, 0, 'https-only: direct HTTPS works');
  const http = await curl([`http://${lab.addr.outsideHttps}/`]);
  t.equal(http.code, 28, 'https-only: direct HTTP times out');

  await lab.setPolicy('no-dns');
  t.equal(await resolveVia(lab.addr.clusterDns, lab.names.companionFqdn), 'ETIMEOUT', 'no-dns: cluster DNS times out');
  const proxied = await curl(['-x', companionHttp, '--cacert', companionCa, outsideUrl]);
  t.equal(proxied.code, 0, 'no-dns: the companion still works');

  await lab.setPolicy('dns-open');
  t.equal(await resolveVia(lab.addr.outsideResolver, lab.names.outside), lab.addr.outsideHttps, 'dns-open: outside resolver answers');
  t.equal(await resolveVia(lab.addr.clusterDns, lab.names.companionFqdn), lab.addr.companion, 'dns-open: cluster DNS answers');
});

t.test('companion modes and a dead internet host', async (t) => {
  await lab.setCompanion('passthrough');
  const passthrough = await curl(['-x', companionHttp, '--cacert', outsideCa, outsideUrl]);
  t.equal(passthrough.code, 0, 'passthrough tunnels TLS untouched');
  t.match(issuer(passthrough.stderr), /Lab Public Root CA/, 'the issuer is the outside CA');

  await lab.setOutside(false);
  const dead = await curl(['-x', companionHttp, '--cacert', outsideCa, outsideUrl]);
  t.not(dead.code, 0, `an unreachable internet host fails through the companion (exit ${dead.code})`);
  t.match(dead.stderr, /\b502\b/, 'the companion answers 502');
  await lab.setOutside(true);
  const back = await curl(['-x', companionHttp, '--cacert', outsideCa, `https://[${lab.addr.outsideHttps6}]/`]);
  t.equal(back.code, 0, 'the host (v6 too) is back after setOutside(true)');

  await lab.setCompanion('down');
  const down = await curl(['-x', companionHttp, outsideUrl]);
  t.equal(down.code, 7, 'no proxy: connection refused');

  await lab.setCompanion('intercept');
  const again = await curl(['-x', companionHttp, '--cacert', companionCa, outsideUrl]);
  t.equal(again.code, 0, 'intercept again, with the same CA');
  t.match(issuer(again.stderr), /mitmproxy/);
});

t.test('close() leaves nothing behind', async (t) => {
  const mine = () =>
    spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .stdout.split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith(`${lab.id}-`));
  const namespaces = mine();
  t.equal(namespaces.length, 7, `seven namespaces: ${namespaces.join(' ')}`);
  const pids = namespaces.flatMap((ns) =>
    spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number),
  );
  t.ok(pids.length >= 9, `lab processes found: ${pids.length}`);

  await lab.close();
  t.same(mine(), [], 'no lab namespace remains');
  const alive = pids.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  t.same(alive, [], 'no lab process remains');
  t.same(
    namespaces.filter((ns) => spawnSync('test', ['-e', `/etc/netns/${ns}`]).status === 0),
    [],
    'no /etc/netns entry remains',
  );
  await t.rejects(lab.exec(['true']), /closed/, 'a closed lab refuses work');
});
