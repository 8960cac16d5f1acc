/**
 * The egress scanners people deploy as the companion, each runnable in the lab's companion
 * namespace on the companion's address: mitmproxy (the default), Squid with ssl-bump (peek, then
 * bump) and without, Stripe's Smokescreen, and tinyproxy. One registry: the lab and the scenario
 * matrix take every companion from here.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type Daemon, LabError, runChecked } from './process.js';
import { COMPANION_PORTS, LAB_ADDR, LAB_NAMES } from './topology.js';

/**
 * 'deployed': as the article deploys it (a bumping companion intercepts TLS, the others tunnel);
 * 'passthrough': a bumping companion tunnels TLS untouched; 'deny': the companion refuses the
 * outside site (and only it); 'enforce': deployed, with the egress-guardian policy addon
 * (ENFORCE_DENY_HOSTS, ENFORCE_PATTERN), only where the definition `enforces`.
 */
export type CompanionRunMode = 'deployed' | 'passthrough' | 'deny' | 'enforce';

export interface CompanionContext {
  /** A fresh directory for this start, readable by the user the companion drops to. */
  readonly dir: string;
  /** A directory kept across restarts (mitmproxy's CA store: the CA must not change). */
  readonly stateDir: string;
  /** The "public" CA the companion trusts upstream. */
  readonly outsideCaFile: string;
  /** Key and certificate of the companion's CA in one file (as mitmproxy's CA file is). */
  readonly caKeyAndCertFile: string;
  daemon(name: string, argv: readonly string[]): Daemon;
  /** Clients must authenticate with these (HTTP 407 / SOCKS5 username and password). */
  readonly auth?: ProxyAuth;
}

export interface ProxyAuth {
  user: string;
  password: string;
}

export interface CompanionDef {
  /** Terminates TLS with its own CA when deployed, so the probe can verify interception. */
  readonly intercepts: boolean;
  /** Also serves SOCKS5 on COMPANION_PORTS.socks5. */
  readonly socks: boolean;
  /** Can require credentials (CompanionContext.auth). */
  readonly auth: boolean;
  /** Can run the egress-guardian policy addon ('enforce'). */
  readonly enforces: boolean;
  /** Starts it; resolves with its processes and the file of the CA it signs with. */
  start(ctx: CompanionContext, mode: CompanionRunMode): Promise<StartedCompanion>;
}

export interface StartedCompanion {
  daemons: Daemon[];
  caFile: string;
  /** Where it logs requests, when not its processes' output (Squid's access.log). */
  requestLog?: string;
}

export type CompanionKind = 'mitmproxy' | 'squid-bump' | 'squid' | 'smokescreen' | 'tinyproxy';

/** Where `setup.sh` caches the Smokescreen binary it builds with `go install` (never in the repo). */
export const SMOKESCREEN_BIN = '/var/cache/egress-verify/bin/smokescreen-v0.1.0/smokescreen';
const SQUID_CERTGEN = '/usr/lib/squid/security_file_certgen';

const listen = `${LAB_ADDR.companion}:${COMPANION_PORTS.http}`;
/** The site the 'deny' mode refuses, exactly: the resolver's name under it stays allowed. */
const DENIED = LAB_NAMES.outside;

/** Squid 5.7 as Debian ships it, with the stock access rules (CONNECT to 443 only, the local networks). */
async function startSquid(ctx: CompanionContext, mode: CompanionRunMode, bump: boolean): Promise<StartedCompanion> {
  const ssl = join(ctx.dir, 'ssl_db');
  const bumping = bump && mode !== 'passthrough';
  if (bumping) await runChecked(SQUID_CERTGEN, ['-c', '-s', ssl, '-M', '4MB']);
  const conf = [
    bumping
      ? `http_port ${listen} ssl-bump tls-cert=${ctx.caKeyAndCertFile} tls-key=${ctx.caKeyAndCertFile} generate-host-certificates=on dynamic_cert_mem_cache_size=4MB`
      : `http_port ${listen}`,
    ...(bumping
      ? [
          `sslcrtd_program ${SQUID_CERTGEN} -s ${ssl} -M 4MB`,
          'sslcrtd_children 2 startup=1 idle=1',
          'acl step1 at_step SslBump1',
          'ssl_bump peek step1',
          'ssl_bump bump all',
        ]
      : []),
    `tls_outgoing_options cafile=${ctx.outsideCaFile}`,
    'acl SSL_ports port 443',
    'acl CONNECT method CONNECT',
    'acl localnet src 10.0.0.0/8',
    ...(mode === 'deny' ? [`acl denied dstdomain ${DENIED}`, 'http_access deny denied'] : []),
    'http_access deny CONNECT !SSL_ports',
    'http_access allow localnet',
    'http_access deny all',
    `dns_nameservers ${LAB_ADDR.clusterDns}`,
    'visible_hostname lab-companion',
    'cache deny all',
    `pid_filename ${join(ctx.dir, 'squid.pid')}`,
    `access_log stdio:${join(ctx.dir, 'access.log')}`,
    // The inspection receipt's marker is in the query, which Squid cuts from its log by default.
    'strip_query_terms off',
    `cache_log ${join(ctx.dir, 'cache.log')}`,
    `coredump_dir ${ctx.dir}`,
    'cache_effective_user proxy',
    // The lab stops it between scenarios; Squid's default is to drain for 30 s.
    'shutdown_lifetime 0 seconds',
    '',
  ].join('\n');
  const file = join(ctx.dir, 'squid.conf');
  await writeFile(file, conf);
  await runChecked('chown', ['-R', 'proxy:proxy', ctx.dir]);
  return {
    daemons: [ctx.daemon('squid', ['squid', '-N', '-f', file])],
    caFile: ctx.caKeyAndCertFile,
    requestLog: join(ctx.dir, 'access.log'),
  };
}

/** The lab companion's policy addon, the same file the lab cluster's companion image runs. */
export const ENFORCE_ADDON = fileURLToPath(new URL('../../lab/cluster/companion/enforce.py', import.meta.url));
/**
 * What 'enforce' refuses: CONNECT to the outside site's bare address (its name stays allowed, so
 * the lab's allowed path still works) and any request carrying an AWS access key id.
 */
export const ENFORCE_DENY_HOSTS = [LAB_ADDR.outsideHttps];
export const ENFORCE_PATTERN = 'AKIA[0-9A-Z]{16}';

const MITM_CA_FILE = 'mitmproxy-ca-cert.pem';
/** Written last by mitmproxy when it creates its CA store. */
const MITM_STORE_DONE = 'mitmproxy-dhparam.pem';

/** mitmproxy 8: `regular` on the HTTP port and `socks5` on the SOCKS port, one CA store. */
async function startMitmproxy(ctx: CompanionContext, mode: CompanionRunMode): Promise<StartedCompanion> {
  const confdir = join(ctx.stateDir, 'mitmproxy');
  await mkdir(confdir, { recursive: true });
  const storeDone = join(confdir, MITM_STORE_DONE);
  const mitm = (proxyMode: string, port: number): Daemon =>
    ctx.daemon(`mitmdump-${proxyMode}`, [
      // Python buffers a redirected stdout: the flow lines (the inspection receipts) would reach
      // the log only in 8 KiB blocks; and mitmdump cuts URLs to COLUMNS (80 without a terminal).
      // `env` execs mitmdump in place, so the PID stays its own.
      'env',
      'PYTHONUNBUFFERED=1',
      'COLUMNS=4096',
      'mitmdump',
      '--mode',
      proxyMode,
      '--listen-port',
      String(port),
      '--set',
      `confdir=${confdir}`,
      // The companion checks upstream certificates against the lab's "public" CA, as a
      // real one checks against the public roots.
      '--set',
      `ssl_verify_upstream_trusted_ca=${ctx.outsideCaFile}`,
      // The workload's v6 address is a documentation prefix; never treat it as "global".
      '--set',
      'block_global=false',
      ...(ctx.auth ? ['--set', `proxyauth=${ctx.auth.user}:${ctx.auth.password}`] : []),
      ...(mode === 'passthrough' ? ['--ignore-hosts', '.*'] : []),
      ...(mode === 'deny' ? ['--set', `block_list=:~d ^${DENIED.replaceAll('.', '\\.')}$:403`] : []),
      ...(mode === 'enforce'
        ? [
            '-s',
            ENFORCE_ADDON,
            '--set',
            `egress_deny_hosts=${ENFORCE_DENY_HOSTS.join(',')}`,
            '--set',
            `egress_deny_pattern=${ENFORCE_PATTERN}`,
          ]
        : []),
    ]);
  const regular = mitm('regular', COMPANION_PORTS.http);
  // Two mitmdumps started together each make their own CA; the second must find the
  // first one's CA in the shared confdir.
  // Bounded at 60 s: a loaded machine has taken more than 15.
  for (let i = 0; i < 1200 && !existsSync(storeDone); i++) {
    if (!regular.running) throw new LabError(`companion stopped during start-up: ${regular.describeExit()}`);
    await sleep(50);
  }
  if (!existsSync(storeDone)) throw new LabError(`mitmproxy wrote no CA in ${confdir}`);
  return { daemons: [regular, mitm('socks5', COMPANION_PORTS.socks5)], caFile: join(confdir, MITM_CA_FILE) };
}

export const COMPANIONS: Readonly<Record<CompanionKind, CompanionDef>> = {
  mitmproxy: { intercepts: true, socks: true, auth: true, enforces: true, start: startMitmproxy },
  'squid-bump': { intercepts: true, socks: false, auth: false, enforces: false, start: (ctx, mode) => startSquid(ctx, mode, true) },
  squid: { intercepts: false, socks: false, auth: false, enforces: false, start: (ctx, mode) => startSquid(ctx, mode, false) },
  smokescreen: {
    intercepts: false,
    socks: false,
    auth: false,
    enforces: false,
    async start(ctx, mode) {
      const allowed = mode === 'deny' ? [LAB_NAMES.resolverHttps] : [LAB_NAMES.outside, LAB_NAMES.resolverHttps];
      const acl = join(ctx.dir, 'acl.yaml');
      await writeFile(
        acl,
        ['version: v1', 'services: []', 'default:', '  name: default', '  project: lab', '  action: enforce', '  allowed_domains:']
          .concat(
            allowed.map((d) => `    - ${d}`),
            [''],
          )
          .join('\n'),
      );
      // Without client certificates every client has no role: v0.1.0 takes the ACL's default
      // only with allow_missing_role, which exists only in the config file.
      const config = join(ctx.dir, 'smokescreen.yaml');
      await writeFile(
        config,
        [
          `ip: ${LAB_ADDR.companion}`,
          `port: ${COMPANION_PORTS.http}`,
          `acl_file: ${acl}`,
          'allow_missing_role: true',
          // Smokescreen refuses private and internal ranges by default; the lab's documentation
          // ranges stand for the public internet.
          'allow_ranges: [203.0.113.0/24, 198.51.100.0/24, 2001:db8:113::/64]',
          'connect_timeout: 3s',
          '',
        ].join('\n'),
      );
      const daemon = ctx.daemon('smokescreen', [SMOKESCREEN_BIN, '--config-file', config]);
      return { daemons: [daemon], caFile: ctx.caKeyAndCertFile };
    },
  },
  tinyproxy: {
    intercepts: false,
    socks: false,
    auth: true,
    enforces: false,
    async start(ctx, mode) {
      const filter = join(ctx.dir, 'filter');
      await writeFile(filter, `^${DENIED.replaceAll('.', '\\.')}$\n`);
      const conf = join(ctx.dir, 'tinyproxy.conf');
      await writeFile(
        conf,
        [
          'User nobody',
          'Group nogroup',
          `Port ${COMPANION_PORTS.http}`,
          `Listen ${LAB_ADDR.companion}`,
          'Timeout 30',
          'Allow 10.0.0.0/8',
          'ConnectPort 443',
          'MaxClients 100',
          'LogLevel Info',
          ...(ctx.auth ? [`BasicAuth ${ctx.auth.user} ${ctx.auth.password}`] : []),
          ...(mode === 'deny' ? [`Filter "${filter}"`, 'FilterDefaultDeny No', 'FilterExtended Yes'] : []),
          '',
        ].join('\n'),
      );
      await chmod(ctx.dir, 0o755);
      return { daemons: [ctx.daemon('tinyproxy', ['tinyproxy', '-d', '-c', conf])], caFile: ctx.caKeyAndCertFile };
    },
  },
};

export const COMPANION_KINDS = Object.keys(COMPANIONS) as CompanionKind[];

/** A fresh directory for one start of a companion; Squid drops to `proxy` and must reach it. */
export async function companionDir(root: string, kind: CompanionKind, n: number): Promise<string> {
  await chmod(root, 0o711);
  const dir = join(root, `companion-${kind}-${n}`);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  return dir;
}
