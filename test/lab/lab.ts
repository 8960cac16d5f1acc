/**
 * A network-namespace lab standing in for a cluster: a workload pod, its node, an
 * egress-scanner companion (mitmproxy), cluster DNS, an API server and a small "internet".
 * Needs root, iproute2, iptables, dnsmasq, mitmdump and openssl. Nothing is added to the root
 * namespace: the lab's namespaces are linked only to each other.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMPANIONS, type CompanionKind, companionDir, type ProxyAuth } from './companions.js';
import { type CaFiles, type CertFiles, makeCa, makeLeaf } from './pki.js';
import { baseRuleset, type LabPolicy, policyRuleset } from './policy.js';
import {
  type Daemon,
  inNetns,
  killGroup,
  LabError,
  type Listener,
  run,
  runChecked,
  startDaemon,
  waitForListeners,
  waitForNoListeners,
} from './process.js';
import type { HostService } from './services.js';
import { OWNER_FILE, reapStaleLabs } from './stale.js';
import {
  API_SERVER_PORT,
  COMPANION_PORTS,
  DOT_PORT,
  EXFIL_ANSWER,
  KUBELET_PORT,
  LAB_ADDR,
  LAB_NAMES,
  LEAF_LINKS,
  type NetnsRole,
  OUTSIDE_ANY_PORT,
  ROUTER_ROUTES,
  WORKLOAD_SEARCH,
} from './topology.js';

export type { CompanionKind, ProxyAuth } from './companions.js';
export type { LabPolicy } from './policy.js';
export { LabError } from './process.js';

/**
 * 'intercept': the companion as deployed (only bumping companions intercept TLS);
 * 'passthrough': it tunnels TLS untouched; 'deny': it refuses the outside site; 'enforce': as
 * deployed, with the policy addon the enforcement canary meets (mitmproxy); 'down': no proxy.
 */
export type CompanionMode = 'intercept' | 'passthrough' | 'deny' | 'enforce' | 'down';

export interface ExecOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
  /** 'co': run in the companion's namespace instead, which no policy filters (a control pod's view). */
  role?: 'wl' | 'co';
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Lab {
  readonly id: string;
  readonly addr: {
    workload: string;
    node: string;
    companion: string;
    clusterDns: string;
    apiServer: string;
    outsideHttps: string;
    outsideHttps6: string;
    outsideResolver: string;
    outsideResolver6: string;
    authDns: string;
    metadata: string;
    workload6: string;
  };
  readonly names: { companionFqdn: string; outside: string; resolverHttps: string; kubernetes: string; exfilZone: string };
  /** Which egress scanner runs as the companion. */
  readonly companion: CompanionKind;
  /** The CA certificate (PEM) the companion signs intercepted certificates with. */
  readonly companionCaPem: string;
  /** The "public-like" CA that signed the outside HTTPS host (and the DoT resolver). */
  readonly outsideCaPem: string;
  /** Its file: an application's trust store for the public roots (NODE_EXTRA_CA_CERTS). */
  readonly outsideCaFile: string;
  /** Name of the workload netns. */
  workloadNetns: string;
  /**
   * Runs argv inside the workload namespace with the cluster resolver. The environment is a
   * container's: PATH, HOME and LANG only, plus `opts.env` (the caller's own proxy variables
   * never leak in). `code` is null when the command was killed at `timeoutMs` (default 30 s).
   */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  setPolicy(p: LabPolicy): Promise<void>;
  setCompanion(m: CompanionMode): Promise<void>;
  /**
   * false: the internet host (203.0.113.10, 2001:db8:113::10) goes away: the node's link to it
   * is down, so connects fail fast with "network unreachable" (the companion answers 502).
   * The resolvers and metadata endpoint stay up.
   */
  setOutside(up: boolean): Promise<void>;
  /** What the running companion logged about the requests it handled (its output, or Squid's access.log). */
  companionLog(): Promise<string>;
  /** false: the workload loses its IPv6 address (link-local stays), as a pod on a single-stack cluster. */
  setWorkloadIpv6(up: boolean): Promise<void>;
  /** Names the exfil zone's authoritative server was asked about: lowercased, no trailing dot, unique, in order. */
  authQueries(): Promise<string[]>;
  /** Kills every lab process by PID and deletes the namespaces, /etc/netns entries and temp files. */
  close(): Promise<void>;
}

const HOSTS_SCRIPT = fileURLToPath(new URL('./hosts.mjs', import.meta.url));

const live = new Set<NetnsLab>();
let labCounter = 0;

export interface LabOptions {
  companion?: CompanionKind;
  /** The companion asks every client for these (only companions whose definition has `auth`). */
  proxyAuth?: ProxyAuth;
}

export async function startLab(opts: LabOptions = {}): Promise<Lab> {
  await reapStaleLabs(new Set([...live].map((l) => l.id)));
  const id = await pickId();
  const dir = await mkdtemp(join(tmpdir(), `${id}-`));
  // Written before any namespace exists, so a reaper in another process never sees our
  // namespaces without an owner.
  await writeFile(join(dir, OWNER_FILE), `${process.pid}\n`);
  const companion = opts.companion ?? 'mitmproxy';
  if (opts.proxyAuth && !COMPANIONS[companion].auth) throw new LabError(`the lab's ${companion} cannot require credentials`);
  const lab = new NetnsLab(id, dir, companion, opts.proxyAuth);
  live.add(lab);
  installExitHooks();
  try {
    await lab.start();
  } catch (err) {
    await lab.close();
    throw err;
  }
  return lab;
}

/** `evl<pid % 10000><letter>`, skipping names in use (by another live lab, or a stale one). */
async function pickId(): Promise<string> {
  const existing = await runChecked('ip', ['netns', 'list']);
  for (let i = 0; i < 26; i++) {
    const id = `evl${process.pid % 10000}${String.fromCharCode(97 + ((labCounter + i) % 26))}`;
    if (!existing.includes(`${id}-`)) {
      labCounter += i + 1;
      return id;
    }
  }
  throw new LabError('no free lab id (stale evl* namespaces? see `ip netns list`)');
}

class NetnsLab implements Lab {
  readonly addr = { ...LAB_ADDR };
  readonly names = { ...LAB_NAMES };
  companionCaPem = '';
  outsideCaPem = '';
  outsideCaFile = '';
  workloadNetns: string;

  private readonly createdNetns: string[] = [];
  private readonly createdEtcDirs: string[] = [];
  private readonly daemons = new Set<Daemon>();
  private readonly execChildren = new Set<ChildProcess>();
  private proxies: Daemon[] = [];
  private requestLogs: string[] = [];
  private outsideCa: CaFiles | undefined;
  private companionCaFile: string | undefined;
  private companionStarts = 0;
  private closed: Promise<void> | undefined;
  private readonly authLog: string;

  constructor(
    readonly id: string,
    private readonly dir: string,
    readonly companion: CompanionKind,
    private readonly proxyAuth?: ProxyAuth,
  ) {
    this.workloadNetns = this.ns('wl');
    this.authLog = join(dir, 'auth-dns.log');
  }

  ns(role: NetnsRole): string {
    return `${this.id}-${role}`;
  }

  async start(): Promise<void> {
    await this.addNamespaces();
    const certs = this.makeCerts();
    // mitmproxy takes the longest to start (a second per instance, and the two must start one
    // after the other); it binds a wildcard address, so it need not wait for the links.
    const companion = certs.then(() => this.startCompanion('intercept'));
    const rest = Promise.all([certs, this.buildNetwork()]).then(async ([c]) => {
      await this.setPolicy('article');
      await this.startServers(c);
    });
    await Promise.all([rest, companion]);
  }

  // ---- network ---------------------------------------------------------------------------

  private readonly roles: readonly NetnsRole[] = ['rt', ...LEAF_LINKS.map((l) => l.role)];

  private async addNamespaces(): Promise<void> {
    for (const role of this.roles) {
      await runChecked('ip', ['netns', 'add', this.ns(role)]);
      this.createdNetns.push(this.ns(role));
    }
  }

  private async buildNetwork(): Promise<void> {
    const roles = this.roles;
    // No DAD: addresses are usable at once instead of after a second of "tentative".
    const common = ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0'];
    await Promise.all(
      roles.map((role) => {
        const extra =
          role === 'rt'
            ? [
                'net.ipv4.ip_forward=1',
                'net.ipv6.conf.all.forwarding=1',
                // Keep v6 addresses across setOutside(false)/(true) link flaps.
                'net.ipv6.conf.all.keep_addr_on_down=1',
                'net.ipv6.conf.default.keep_addr_on_down=1',
                // A host that is down answers "unreachable" every time: the kernel's ICMP rate
                // limit would otherwise leave a companion's connect to wait out SYN retries.
                'net.ipv4.icmp_ratelimit=0',
                'net.ipv6.icmp.ratelimit=0',
              ]
            : [];
        const [cmd, args] = inNetns(this.ns(role), ['sysctl', '-q', '-w', ...common, ...extra]);
        return runChecked(cmd, args);
      }),
    );

    const router: string[] = ['link set lo up'];
    for (const link of LEAF_LINKS) {
      const ifn = link.routerIfname;
      router.push(`link add ${ifn} type veth peer name eth0 netns ${this.ns(link.role)}`);
      router.push(`addr add ${link.router4} dev ${ifn}`);
      if (link.router6) router.push(`addr add ${link.router6} dev ${ifn} nodad`);
      router.push(`link set ${ifn} up`);
    }
    for (const [dst, via] of ROUTER_ROUTES) router.push(`route add ${dst} via ${via}`);
    await this.ipBatch('rt', router);

    await Promise.all(
      LEAF_LINKS.map((link) => {
        const gw4 = link.router4.split('/')[0];
        const gw6 = link.router6?.split('/')[0];
        const cmds = ['link set lo up'];
        for (const a of link.leaf4) cmds.push(`addr add ${a} dev eth0`);
        for (const a of link.leaf6 ?? []) cmds.push(`addr add ${a} dev eth0 nodad`);
        cmds.push('link set eth0 up');
        cmds.push(`route add default via ${gw4}`);
        if (gw6) cmds.push(`route add ::/0 via ${gw6}`);
        return this.ipBatch(link.role, cmds);
      }),
    );

    // `ip netns exec` bind-mounts /etc/netns/<ns>/resolv.conf over /etc/resolv.conf: the
    // workload and the companion get the cluster resolver, as a pod would.
    const resolvConf = [`nameserver ${LAB_ADDR.clusterDns}`, `search ${WORKLOAD_SEARCH.join(' ')}`, 'options ndots:5', ''].join('\n');
    for (const role of ['wl', 'co'] as const) {
      const etc = join('/etc/netns', this.ns(role));
      await mkdir(etc, { recursive: true });
      this.createdEtcDirs.push(etc);
      await writeFile(join(etc, 'resolv.conf'), resolvConf);
    }

    for (const tool of ['iptables-restore', 'ip6tables-restore']) {
      const [cmd, args] = inNetns(this.ns('rt'), [tool]);
      await runChecked(cmd, args, { input: baseRuleset() });
    }
  }

  private async ipBatch(role: NetnsRole, cmds: readonly string[]): Promise<void> {
    await runChecked('ip', ['-n', this.ns(role), '-batch', '-'], { input: `${cmds.join('\n')}\n` });
  }

  async setPolicy(p: LabPolicy): Promise<void> {
    this.assertOpen();
    const rt = this.ns('rt');
    for (const [tool, family] of [
      ['iptables-restore', 4],
      ['ip6tables-restore', 6],
    ] as const) {
      const [cmd, args] = inNetns(rt, [tool, '--noflush']);
      await runChecked(cmd, args, { input: policyRuleset(p, family) });
    }
    // Flows the old policy allowed would ride on ESTABLISHED; forget them. conntrack exits 1
    // when there was nothing to delete, so its result is not checked.
    for (const args of [
      ['-D', '-s', LAB_ADDR.workload],
      ['-D', '-f', 'ipv6', '-s', LAB_ADDR.workload6],
    ]) {
      const [cmd, a] = inNetns(rt, ['conntrack', ...args]);
      await run(cmd, a, { timeoutMs: 5000 });
    }
  }

  async setOutside(up: boolean): Promise<void> {
    this.assertOpen();
    await this.ipBatch('rt', [`link set out0 ${up ? 'up' : 'down'}`]);
  }

  async setWorkloadIpv6(up: boolean): Promise<void> {
    this.assertOpen();
    const link = LEAF_LINKS.find((l) => l.role === 'wl');
    const gw6 = link?.router6?.split('/')[0];
    const cmds = (link?.leaf6 ?? []).map((a) => (up ? `addr replace ${a} dev eth0 nodad` : `addr del ${a} dev eth0`));
    // The default route goes with the address's subnet; bring it back with it.
    if (up && gw6) cmds.push(`route replace ::/0 via ${gw6}`);
    await this.ipBatch('wl', cmds);
  }

  // ---- servers -----------------------------------------------------------------------------

  private async makeCerts(): Promise<{ outside: CertFiles; kubelet: CertFiles; apiServer: CertFiles }> {
    const pki = join(this.dir, 'pki');
    const [outsideCa, clusterCa, companionCa] = await Promise.all([
      makeCa(pki, 'outside-ca', { o: 'Lab Public Trust Services', cn: 'Lab Public Root CA R1' }),
      makeCa(pki, 'cluster-ca', { o: 'Lab Cluster', cn: 'kubernetes' }),
      makeCa(pki, 'companion-ca', { o: 'Lab Egress Scanner', cn: 'Lab Companion CA' }),
    ]);
    this.outsideCa = outsideCa;
    // Key and certificate in one file, as mitmproxy keeps its CA (Squid's tls-cert/tls-key take it).
    this.companionCaFile = join(pki, 'companion-ca-key-and-cert.pem');
    await writeFile(this.companionCaFile, `${await readFile(companionCa.keyFile, 'utf8')}${companionCa.pem}`);
    this.outsideCaPem = outsideCa.pem;
    this.outsideCaFile = outsideCa.certFile;
    const [outside, kubelet, apiServer] = await Promise.all([
      makeLeaf(
        pki,
        'outside',
        outsideCa,
        LAB_NAMES.outside,
        [LAB_NAMES.outside, LAB_NAMES.resolverHttps],
        [LAB_ADDR.outsideHttps, LAB_ADDR.outsideHttps6, LAB_ADDR.outsideResolver, LAB_ADDR.outsideResolver6],
      ),
      makeLeaf(pki, 'kubelet', clusterCa, 'lab-node', ['lab-node'], [LAB_ADDR.node]),
      makeLeaf(
        pki,
        'apiserver',
        clusterCa,
        'kube-apiserver',
        ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', LAB_NAMES.kubernetes],
        [LAB_ADDR.apiServer],
      ),
    ]);
    return { outside, kubelet, apiServer };
  }

  private async startServers(certs: { outside: CertFiles; kubelet: CertFiles; apiServer: CertFiles }): Promise<void> {
    const out = certs.outside;
    const outsideHosts: HostService[] = [];
    for (const host of [LAB_ADDR.outsideHttps, LAB_ADDR.outsideHttps6]) {
      outsideHosts.push(
        { kind: 'https', name: 'outside-https', host, port: 443, reply: 'echo', ...out },
        { kind: 'http', name: 'outside-http', host, port: 80, reply: 'echo' },
        // The "QUIC" target: anything sent to UDP 443 comes back.
        { kind: 'udp-echo', name: 'outside-udp', host, port: 443 },
      );
    }
    // Every other TCP port of the internet host answers too (DNAT to one listener), so a port
    // sweep meets a host that is up everywhere.
    outsideHosts.push({ kind: 'tcp-echo', name: 'outside-any-port', host: LAB_ADDR.outsideHttps, port: OUTSIDE_ANY_PORT });
    const [cmd, args] = inNetns(this.ns('out'), [
      'iptables',
      ...['-t', 'nat', '-A', 'PREROUTING', '-d', LAB_ADDR.outsideHttps, '-p', 'tcp', '-m', 'multiport', '!', '--dports', '80,443'],
      ...['-j', 'DNAT', '--to-destination', `${LAB_ADDR.outsideHttps}:${OUTSIDE_ANY_PORT}`],
    ]);
    await runChecked(cmd, args);
    const dnsLog = (name: string) => join(this.dir, `${name}.log`);
    const dnsmasq = (name: string, listen: string, extra: readonly string[]): readonly string[] => [
      'dnsmasq',
      '--conf-file=/dev/null',
      '--keep-in-foreground',
      '--no-hosts',
      '--no-resolv',
      '--bind-interfaces',
      `--listen-address=${listen}`,
      '--port=53',
      '--user=root',
      '--group=root',
      `--pid-file=${join(this.dir, `${name}.pid`)}`,
      // No cache anywhere: every lookup the workload makes reaches the authoritative server.
      '--cache-size=0',
      ...extra,
    ];

    const plan: { role: NetnsRole; daemons: Daemon[]; listeners: Listener[] }[] = [
      {
        role: 'out',
        daemons: [this.hosts('out', outsideHosts)],
        listeners: outsideHosts.map((s) => ({
          proto: s.kind === 'udp-echo' ? 'udp' : 'tcp',
          addr: s.host,
          port: s.port,
        })),
      },
      {
        role: 'ext',
        daemons: [
          this.daemon('outside-resolver', 'ext', [
            ...dnsmasq('outside-resolver', LAB_ADDR.outsideResolver, [
              `--listen-address=${LAB_ADDR.outsideResolver6}`,
              `--log-facility=${dnsLog('outside-resolver')}`,
              `--address=/${LAB_NAMES.outside}/${LAB_ADDR.outsideHttps}`,
              `--address=/${LAB_NAMES.outside}/${LAB_ADDR.outsideHttps6}`,
              `--address=/${LAB_NAMES.resolverHttps}/${LAB_ADDR.outsideResolver}`,
              `--server=/${LAB_NAMES.exfilZone}/${LAB_ADDR.authDns}`,
            ]),
          ]),
          this.daemon('auth-dns', 'ext', [
            ...dnsmasq('auth-dns', LAB_ADDR.authDns, [
              `--log-facility=${this.authLog}`,
              '--log-queries',
              `--address=/${LAB_NAMES.exfilZone}/${EXFIL_ANSWER}`,
            ]),
          ]),
          this.hosts('ext', [
            // The resolver answers on both families: DNS, DoT and, as public resolvers serve
            // DoH, HTTPS (by name too: the control a hostname-allowlist companion lets through).
            ...[LAB_ADDR.outsideResolver, LAB_ADDR.outsideResolver6].flatMap((host): HostService[] => [
              { kind: 'dot', name: 'outside-dot', host, port: DOT_PORT, ...out, upstreamHost: LAB_ADDR.outsideResolver, upstreamPort: 53 },
              { kind: 'https', name: 'resolver-https', host, port: 443, reply: 'echo', ...out },
            ]),
            { kind: 'http', name: 'metadata', host: LAB_ADDR.metadata, port: 80, reply: 'metadata' },
          ]),
        ],
        listeners: [
          ...[LAB_ADDR.outsideResolver, LAB_ADDR.outsideResolver6].flatMap((addr): Listener[] => [
            { proto: 'udp', addr, port: 53 },
            { proto: 'tcp', addr, port: 53 },
            { proto: 'tcp', addr, port: DOT_PORT },
            { proto: 'tcp', addr, port: 443 },
          ]),
          { proto: 'udp', addr: LAB_ADDR.authDns, port: 53 },
          { proto: 'tcp', addr: LAB_ADDR.metadata, port: 80 },
        ],
      },
      {
        // Cluster DNS, CoreDNS-like: cluster names locally, everything else forwarded upstream.
        role: 'dns',
        daemons: [
          this.daemon('cluster-dns', 'dns', [
            ...dnsmasq('cluster-dns', LAB_ADDR.clusterDns, [
              `--log-facility=${dnsLog('cluster-dns')}`,
              '--local=/cluster.local/',
              `--address=/${LAB_NAMES.companionFqdn}/${LAB_ADDR.companion}`,
              `--address=/${LAB_NAMES.kubernetes}/${LAB_ADDR.apiServer}`,
              `--server=${LAB_ADDR.outsideResolver}`,
            ]),
          ]),
        ],
        listeners: [
          { proto: 'udp', addr: LAB_ADDR.clusterDns, port: 53 },
          { proto: 'tcp', addr: LAB_ADDR.clusterDns, port: 53 },
        ],
      },
      {
        role: 'api',
        daemons: [
          this.hosts('api', [
            {
              kind: 'https',
              name: 'apiserver',
              host: LAB_ADDR.apiServer,
              port: API_SERVER_PORT,
              reply: 'apiserver',
              ...certs.apiServer,
            },
          ]),
        ],
        listeners: [{ proto: 'tcp', addr: LAB_ADDR.apiServer, port: API_SERVER_PORT }],
      },
      {
        role: 'rt',
        daemons: [
          this.hosts('rt', [
            {
              kind: 'https',
              name: 'kubelet',
              host: LAB_ADDR.node,
              port: KUBELET_PORT,
              reply: 'kubelet',
              ...certs.kubelet,
            },
          ]),
        ],
        listeners: [{ proto: 'tcp', addr: LAB_ADDR.node, port: KUBELET_PORT }],
      },
      {
        // A companion port that is not a proxy port: open on the pod, closed by the policy.
        role: 'co',
        daemons: [this.hosts('co', [{ kind: 'tcp-echo', name: 'companion-other', host: LAB_ADDR.companion, port: COMPANION_PORTS.other }])],
        listeners: [{ proto: 'tcp', addr: LAB_ADDR.companion, port: COMPANION_PORTS.other }],
      },
    ];
    await Promise.all(plan.map((p) => waitForListeners(this.ns(p.role), p.listeners, p.daemons)));
  }

  private daemon(name: string, role: NetnsRole, argv: readonly string[], stdinPipe = false): Daemon {
    this.assertOpen();
    const d = startDaemon(name, this.ns(role), argv, join(this.dir, `${name}.out`), {
      env: this.daemonEnv(),
      stdinPipe,
    });
    this.daemons.add(d);
    void d.exited.then(() => this.daemons.delete(d));
    return d;
  }

  /** One hosts.mjs process per namespace; it exits by itself if this process dies (stdin closes). */
  private hosts(role: NetnsRole, services: HostService[]): Daemon {
    return this.daemon(`hosts-${role}`, role, [process.execPath, HOSTS_SCRIPT, JSON.stringify(services)], true);
  }

  private daemonEnv(): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: this.dir, LANG: 'C.UTF-8' };
  }

  // ---- companion ---------------------------------------------------------------------------

  async setCompanion(m: CompanionMode): Promise<void> {
    this.assertOpen();
    await this.startCompanion(m);
  }

  private async startCompanion(mode: CompanionMode): Promise<void> {
    await Promise.all(this.proxies.map((d) => d.stop()));
    this.proxies = [];
    this.requestLogs = [];
    const def = COMPANIONS[this.companion];
    const ports = def.socks ? [COMPANION_PORTS.http, COMPANION_PORTS.socks5] : [COMPANION_PORTS.http];
    if (mode === 'down') {
      await waitForNoListeners(this.ns('co'), [COMPANION_PORTS.http, COMPANION_PORTS.socks5]);
      return;
    }
    if (!this.outsideCa || !this.companionCaFile) throw new LabError('lab CAs not made yet');
    if (mode === 'enforce' && !def.enforces) throw new LabError(`the lab's ${this.companion} has no policy addon to enforce`);
    const started = await def.start(
      {
        dir: await companionDir(this.dir, this.companion, ++this.companionStarts),
        stateDir: this.dir,
        outsideCaFile: this.outsideCa.certFile,
        caKeyAndCertFile: this.companionCaFile,
        ...(this.proxyAuth && { auth: this.proxyAuth }),
        daemon: (name, argv) => {
          const d = this.daemon(name, 'co', argv);
          this.proxies.push(d);
          return d;
        },
      },
      mode === 'intercept' ? 'deployed' : mode,
    );
    await waitForListeners(
      this.ns('co'),
      ports.map((port) => ({ proto: 'tcp', addr: LAB_ADDR.companion, port })),
      started.daemons,
    );
    this.requestLogs = started.requestLog === undefined ? started.daemons.map((d) => d.logFile) : [started.requestLog];
    const pem = await readFile(started.caFile, 'utf8');
    this.companionCaPem = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/)?.[0] ?? pem;
  }

  // ---- workload ----------------------------------------------------------------------------

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.assertOpen();
    const [cmd, args] = inNetns(this.ns(opts.role ?? 'wl'), argv);
    let tracked: ChildProcess | undefined;
    const r = await run(cmd, args, {
      env: { ...this.daemonEnv(), ...opts.env },
      input: opts.input,
      timeoutMs: opts.timeoutMs,
      track: (child) => {
        if (child) {
          tracked = child;
          this.execChildren.add(child);
        } else if (tracked) {
          this.execChildren.delete(tracked);
        }
      },
    });
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  }

  async companionLog(): Promise<string> {
    const logs = await Promise.all(this.requestLogs.map((f) => readFile(f, 'utf8').catch(() => '')));
    return logs.join('\n');
  }

  async authQueries(): Promise<string[]> {
    let log = '';
    try {
      log = await readFile(this.authLog, 'utf8');
    } catch {
      return [];
    }
    const seen = new Set<string>();
    for (const m of log.matchAll(/: query\[[A-Za-z0-9]+\] (\S+) from /g)) {
      if (m[1]) seen.add(m[1].toLowerCase().replace(/\.$/, ''));
    }
    return [...seen];
  }

  // ---- teardown ----------------------------------------------------------------------------

  close(): Promise<void> {
    this.closed ??= this.teardown();
    return this.closed;
  }

  private async teardown(): Promise<void> {
    for (const child of this.execChildren) killGroup(child, 'SIGKILL');
    await Promise.all([...this.daemons].map((d) => d.stop()));
    for (const ns of this.createdNetns) await run('ip', ['netns', 'del', ns], { timeoutMs: 10_000 });
    for (const dir of this.createdEtcDirs) await rm(dir, { recursive: true, force: true });
    await rm(this.dir, { recursive: true, force: true });
    live.delete(this);
  }

  /** Last-chance cleanup when the process is exiting: synchronous, best effort. */
  teardownSync(): void {
    for (const child of this.execChildren) killGroup(child, 'SIGKILL');
    for (const d of this.daemons) d.signal('SIGKILL');
    for (const ns of this.createdNetns) spawnSync('ip', ['netns', 'del', ns], { timeout: 5000 });
    for (const dir of [...this.createdEtcDirs, this.dir]) rmSync(dir, { recursive: true, force: true });
    live.delete(this);
  }

  private assertOpen(): void {
    if (this.closed) throw new LabError(`lab ${this.id} is closed`);
  }
}

let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const lab of live) lab.teardownSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      for (const lab of live) lab.teardownSync();
      process.off(sig, onSignal);
      // Keep the signal's normal meaning unless someone else also handles it.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}
