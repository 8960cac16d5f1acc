/**
 * The probe's data: a plan of checks in, observations and verdicts out.
 * Everything here is plain data so that every arrow of plan → observation → verdict → report
 * can be a pure function.
 */

/** What the policy must do to a check's traffic. */
export type Expectation = 'blocked' | 'reachable';

/**
 * 'skip': the check was not dialled because the probe pod cannot send its traffic at all (an IPv6
 * target from a pod with no IPv6 address). It proves nothing either way and never counts as a pass.
 */
export type Verdict = 'pass' | 'fail' | 'inconclusive' | 'error' | 'skip';

/** Where a companion proxy listens; the scheme picks HTTP CONNECT or SOCKS5. */
export interface Companion {
  url: string;
}

interface CheckBase {
  id: string;
  expect: Expectation;
  deadlineMs: number;
  /** Id of a check that must reach the same host through the companion for "blocked" to count. */
  control?: string;
  /**
   * 'direct': only the same dial from an observer that no egress policy selects (a control pod)
   * can prove this target reachable; the companion is never asked (internal targets, UDP).
   */
  controlFrom?: 'direct';
  /**
   * 'control': the check exists only to prove other checks' targets up. A companion that refuses
   * it (a locked-down companion rightly may) leaves those checks unproven; it is no broken path.
   */
  purpose?: 'control';
}

/**
 * What an answer from the origin itself looks like, so that a page the companion made (an error
 * or block page) is never read as the origin's. Statuses are classes ("2xx") or codes ("401").
 */
export interface OriginEvidence {
  status: string[];
  /** A header the origin sets and a proxy would not: exact value, case-insensitive name. */
  header?: { name: string; value: string };
  /** A string the origin's body contains (searched in its first 64 KiB). */
  body?: string;
}

/**
 * What is spoken through a proxy-connect tunnel to make the origin answer. The tunnel itself
 * (CONNECT 200, SOCKS success) is never proof: a bumping proxy answers 200 before it dials.
 */
export type TunnelProof = 'http' | 'dns' | 'dot' | 'banner';

/** Raw TCP connect to a literal address. */
export interface TcpCheck extends CheckBase {
  kind: 'tcp';
  host: string;
  port: number;
}

/**
 * Raw TCP to many ports of one literal address that answers on every port. Each port is judged
 * on its own: its connect, against a tunnel to the same port through the companion where a
 * refusal needs one, else against the host's control (`control`).
 */
export interface TcpSweepCheck extends CheckBase {
  kind: 'tcp-sweep';
  host: string;
  /** Folded ranges, "1-1024,8443" (probes/base/ports.ts). */
  ports: string;
  companion: Companion;
  /** How long one port's connect may take: the deadline a single tcp check would have. */
  portDeadlineMs: number;
  /** Connects in flight at once. */
  concurrency: number;
  /** Tunnels through the companion in flight at once. */
  companionConcurrency: number;
}

/**
 * One ICMP echo request to a literal address: a reply is a path out (ICMP tunnels carry data),
 * though NetworkPolicy names only TCP, UDP and SCTP. Only a direct observer can prove the
 * address answers echo: a proxy does not forward ICMP.
 */
export interface IcmpCheck extends CheckBase {
  kind: 'icmp';
  host: string;
}

/** A datagram to a literal address that answers; any reply means the route is open. */
export interface UdpCheck extends CheckBase {
  kind: 'udp';
  host: string;
  port: number;
  /** Hex payload; the default is a QUIC-looking long-header packet. */
  payloadHex?: string;
  /**
   * The catalogue declares this target answers datagrams here (e.g. QUIC on 443). Without it a
   * silent timeout is inconclusive: a UDP service that receives and says nothing looks the same.
   */
  responder?: boolean;
}

/** The real curl binary, with the proxy environment cleared or overridden by --noproxy '*'. */
export interface CurlCheck extends CheckBase {
  kind: 'curl';
  url: string;
  mode: 'env-cleared' | 'noproxy';
  /** Literal address to pin the URL's host to; resolved through the pod's resolver when absent. */
  address?: string;
}

/** A lookup through the pod's own resolver (search list and all), as applications do it. */
export interface DnsResolveCheck extends CheckBase {
  kind: 'dns';
  mode: 'resolve';
  name: string;
}

/** A query sent straight to a resolver by address, bypassing the cluster resolver. */
export interface DnsDirectCheck extends CheckBase {
  kind: 'dns';
  mode: 'direct';
  server: string;
  transport: 'udp' | 'tcp' | 'tls';
  port: number;
  name: string;
}

/** A fresh random name under a zone the user controls, through the cluster resolver. */
export interface DnsRecursionCheck extends CheckBase {
  kind: 'dns';
  mode: 'recursion';
  zone: string;
}

export type DnsCheck = DnsResolveCheck | DnsDirectCheck | DnsRecursionCheck;

/** HTTPS to an origin through the companion; checks TLS interception when the CA is known. */
export interface ProxyHttpsCheck extends CheckBase {
  kind: 'proxy-https';
  url: string;
  companion: Companion;
  origin?: OriginEvidence;
  /**
   * Literal addresses the catalogue pairs with the URL's name: the direct checks dial these,
   * and this control (by name, as a hostname-allowlist companion needs) stands for them.
   */
  pairedAddresses?: string[];
  /** The inspection receipt's marker (probes/receipt.ts), sent in the query and a header. */
  receipt?: string;
}

/** A tunnel through the companion to host:port, and the origin made to answer through it. */
export interface ProxyConnectCheck extends CheckBase {
  kind: 'proxy-connect';
  host: string;
  port: number;
  companion: Companion;
  proof: TunnelProof;
  /** For 'http': what the origin's answer looks like. For 'dns'/'dot': the name asked. */
  origin?: OriginEvidence;
  queryName?: string;
  pairedAddresses?: string[];
}

/** The application's own path: a request with the pod's HTTPS_PROXY / NO_PROXY honoured. */
export interface ProxyEnvCheck extends CheckBase {
  kind: 'proxy-env';
  url: string;
  origin?: OriginEvidence;
  receipt?: string;
}

/** Where a canary request carries the secret the companion's policy must catch. */
export interface CanarySecret {
  in: 'header' | 'query' | 'body';
  /** The header or query parameter's name; the form field's for 'body'. */
  name: string;
  value: string;
}

/**
 * A request through the companion that its policy must refuse: to a destination it denies, or
 * carrying a canary secret. Only the companion's own refusal passes; an answer from the origin
 * is a fail, and an origin it could not reach proves nothing.
 */
export interface CanaryCheck extends CheckBase {
  kind: 'canary';
  url: string;
  companion: Companion;
  /** What the origin's own answer looks like, so that it is never taken for a refusal. */
  origin?: OriginEvidence;
  secret?: CanarySecret;
}

export type Check =
  | TcpCheck
  | TcpSweepCheck
  | UdpCheck
  | IcmpCheck
  | CurlCheck
  | DnsCheck
  | ProxyHttpsCheck
  | ProxyConnectCheck
  | ProxyEnvCheck
  | CanaryCheck;

export type CheckKind = Check['kind'];

export interface ProbePlan {
  version: 1;
  /**
   * PEM of the CA(s) the companions sign intercepted certificates with, which the application
   * trusts too. Once per plan: a certificate chain copied into every check outgrew the 128 KiB
   * a pod's environment variable can hold.
   */
  companionCa?: string;
  /**
   * Tunnels through the companion this probe may hold at once: its share of the run's
   * `--companion-concurrency` (probes/companion-slots.ts). Absent: no bound.
   */
  companionSlots?: number;
  checks: Check[];
}

/**
 * What the network did. `reached` means traffic got to the target and back, `blocked` that the
 * network refused or dropped it, `indeterminate` that the attempt says nothing about the route
 * (a name that did not resolve, an origin down behind a working proxy), `error` that the probe
 * itself could not run the check.
 */
export type ObservationClass = 'reached' | 'blocked' | 'indeterminate' | 'error';

export type Outcome =
  | 'connected'
  | 'answered'
  | 'http-response'
  | 'timeout'
  | 'refused'
  | 'unreachable'
  | 'reset'
  | 'filtered'
  | 'nxdomain'
  | 'servfail'
  | 'dns-failure'
  | 'tls-error'
  | 'proxy-unreachable'
  | 'proxy-refused'
  | 'upstream-error'
  | 'companion-slow'
  | 'origin-unproven'
  | 'no-ipv6'
  | 'path-unsteady'
  | 'probe-error';

export interface Observation {
  outcome: Outcome;
  class: ObservationClass;
  durationMs: number;
  /** One human line about what happened, e.g. "curl exit 28: Connection timed out". */
  detail: string;
  /** The raw error code or message, kept as evidence. */
  error?: string;
  /** Facts gathered on the way: resolved address, curl exit code, certificate issuer... */
  facts?: Record<string, string | number | boolean>;
  /** A property the check asserts beyond reachability, e.g. that TLS is intercepted. */
  finding?: Finding;
}

export type FindingCode = 'tls-not-intercepted' | 'dns-recursion-exfiltration' | 'interception-unverified';

export interface Finding {
  code: FindingCode;
  /** A failing finding turns a reachable observation into a fail. */
  failing: boolean;
  message: string;
}

/** What proved a must-fail check's target reachable: the companion, the control pod, or nothing. */
export type ControlSource = 'companion' | 'control-pod' | 'none';

export interface CheckResult {
  id: string;
  kind: CheckKind;
  expect: Expectation;
  target: string;
  verdict: Verdict;
  reason: string;
  observation: Observation;
  control?: string;
  /** Must-fail checks only: which control the verdict rests on. */
  controlSource?: ControlSource;
  finding?: Finding;
  /** Filled by the controller: where the probe ran, and as which workload. */
  pod?: string;
  node?: string;
  workload?: string;
}
