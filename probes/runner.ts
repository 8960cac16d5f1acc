/**
 * Runs a plan: every check at once, each under its own deadline, then judges the observations
 * against the truth table. Only the check modules touch the network.
 */

import { allowedPaths, describePath } from './allowed-path.js';
import type { Check, CheckKind, CheckResult, Observation, ProbePlan } from './base/model.js';
import { GRACE_MS, SECOND_DIAL_PAUSE_MS } from './checks/deadline.js';
import { opensTunnels, planDurationMs, Slots, throughCompanion } from './companion-slots.js';
import { ipv6OnlyChecks, ownIpv6Addresses } from './ipv6.js';
import { describeTarget, KINDS, type Runner } from './kinds.js';
import { PATH_BACK_MS, type PathWatch, samplesFor, type WatchOptions, watchPaths } from './path-watch.js';
import { judgeSweep } from './sweep.js';
import { type ControlState, controlScope, controlSource, decide } from './verdict.js';

type Partial = Omit<Observation, 'durationMs'>;

/** Must-succeed checks may retry within their deadline; bounded so a flapping path cannot spin. */
const MAX_ATTEMPTS = 5;
const RETRY_PAUSE_MS = 200;

export async function observe(check: Check, companionCa?: string): Promise<Observation> {
  const started = performance.now();
  const signal = AbortSignal.timeout(check.deadlineMs);
  const run = KINDS[check.kind].run as Runner<CheckKind>;
  let attempt = 0;
  let last: Partial | undefined;
  for (;;) {
    attempt++;
    const current = await withGrace(run(check, signal, companionCa), check.deadlineMs - (performance.now() - started) + GRACE_MS);
    // A retry cut short by the deadline says less than the answer before it (Smokescreen's
    // immediate 502 for a host that is down must not become a timeout).
    if (last !== undefined && signal.aborted && current.class !== 'reached') break;
    last = current;
    // A must-fail check is never retried away: one success is a bypass.
    const retry =
      check.expect === 'reachable' && last.class !== 'reached' && last.class !== 'error' && !signal.aborted && attempt < MAX_ATTEMPTS;
    if (!retry) break;
    await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
    if (signal.aborted) break;
  }
  const facts = attempt > 1 ? { ...last.facts, attempts: attempt } : last.facts;
  return { ...last, ...(facts === undefined ? {} : { facts }), durationMs: Math.round(performance.now() - started) };
}

/**
 * A must-reach check that did not reach is dialled once more, a pause after the first dial and
 * with a deadline of its own. On a busy node a policy agent resyncing its rules can drop a
 * pod's allowed traffic for seconds; one such window failed pods whose twins passed. A reach
 * on the second dial is as real as on the first; without one, the second dial's observation
 * stands, with the first's outcome beside it. A must-fail check is never dialled again.
 */
export async function observeAllowing(check: Check, companionCa?: string): Promise<Observation> {
  const first = await observe(check, companionCa);
  if (check.expect !== 'reachable' || first.class === 'reached' || first.class === 'error') return first;
  await new Promise((r) => setTimeout(r, SECOND_DIAL_PAUSE_MS));
  const second = await observe(check, companionCa);
  return {
    ...second,
    facts: { ...second.facts, firstDial: first.outcome },
    durationMs: first.durationMs + SECOND_DIAL_PAUSE_MS + second.durationMs,
  };
}

function withGrace(work: Promise<Partial>, ms: number): Promise<Partial> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Partial>((resolve) => {
    timer = setTimeout(
      () => resolve({ outcome: 'probe-error', class: 'error', detail: 'the check did not return after its deadline' }),
      Math.max(ms, GRACE_MS),
    );
  });
  return Promise.race([
    work.catch((err: unknown): Partial => ({ outcome: 'probe-error', class: 'error', detail: String(err), error: String(err) })),
    late,
  ]).finally(() => clearTimeout(timer));
}

const MISSING: Observation = {
  outcome: 'probe-error',
  class: 'error',
  durationMs: 0,
  detail: 'no observation was recorded for this check',
};

const WRONG_SKIP: Observation = {
  outcome: 'probe-error',
  class: 'error',
  durationMs: 0,
  detail: 'the probe skipped for lack of IPv6 a check that does not need IPv6',
};

/**
 * Pure: observations in, results out. `direct` holds what a control pod (an identity no egress
 * policy selects, see control-plan.ts) observed for the same check ids: a must-fail check it
 * reached is proven whatever the companion did; for `controlFrom: 'direct'` it is the only control.
 */
export function judge(
  plan: ProbePlan,
  observations: ReadonlyMap<string, Observation>,
  direct: ReadonlyMap<string, Observation> = new Map(),
): CheckResult[] {
  const byId = new Map(plan.checks.map((c) => [c.id, c]));
  const ipv6Only = ipv6OnlyChecks(plan);
  const results = plan.checks.map((check): CheckResult => {
    const observed = observations.get(check.id) ?? MISSING;
    // A skip is believed only where IPv6 is all the check needs: elsewhere it would hide a path.
    const observation = observed.outcome === 'no-ipv6' && !ipv6Only.has(check.id) ? WRONG_SKIP : observed;
    const traits = {
      controlOnly: check.purpose === 'control',
      udpSilentUnknown: check.kind === 'udp' && check.responder !== true,
      canary: check.kind === 'canary',
    };
    const control = controlState(check, byId, observations, direct);
    const { verdict, reason } =
      (check.kind === 'tcp-sweep' ? judgeSweep(check, observation, control) : undefined) ??
      decide(check.expect, observation, control, traits);
    return {
      id: check.id,
      kind: check.kind,
      expect: check.expect,
      target: describeTarget(check),
      verdict,
      reason: observation.finding?.failing ? `${reason}: ${observation.finding.message}` : reason,
      observation,
      ...(check.control === undefined ? {} : { control: check.control }),
      // A canary rests on the companion's refusal, never on a control.
      ...(check.expect === 'blocked' && check.kind !== 'canary' ? { controlSource: controlSource(control) } : {}),
      ...(observation.finding === undefined ? {} : { finding: observation.finding }),
    };
  });
  return results.map((r) => setAsideIfMoot(r, byId.get(r.id), results));
}

/**
 * A control-only check the companion left unproven (a locked-down companion refuses tunnels to
 * port 53, say) is moot once the control pod proved every check it stands for: it has nothing
 * left to prove, and must not hold the run at inconclusive.
 */
function setAsideIfMoot(result: CheckResult, check: Check | undefined, results: readonly CheckResult[]): CheckResult {
  if (check?.purpose !== 'control' || result.verdict !== 'inconclusive') return result;
  const dependents = results.filter((r) => r.control === result.id);
  if (dependents.length === 0 || dependents.some((r) => r.controlSource !== 'control-pod')) return result;
  return {
    ...result,
    verdict: 'pass',
    reason: `not needed: the control pod proved every check it stands for (${result.reason})`,
  };
}

function controlState(
  check: Check,
  byId: ReadonlyMap<string, Check>,
  observations: ReadonlyMap<string, Observation>,
  direct: ReadonlyMap<string, Observation>,
): ControlState {
  // The same dial from outside every egress policy (a control pod): same address, port and protocol.
  const seen = check.expect === 'blocked' ? direct.get(check.id) : undefined;
  if (seen?.class === 'reached') return 'proven-direct';
  // Only a control pod may prove these; one that did not reach the target leaves it unproven.
  if (check.controlFrom === 'direct') return seen === undefined ? 'awaiting-direct' : 'not-proven';
  if (check.control === undefined) return 'absent';
  const controlCheck = byId.get(check.control);
  // A control proves reachability only. Its own findings (e.g. TLS not intercepted) are
  // reported on the control and do not make the target any less reachable.
  const reached = controlCheck !== undefined && observations.get(controlCheck.id)?.class === 'reached';
  return reached ? controlScope(check, controlCheck) : 'not-proven';
}

/**
 * `ownIpv6`: the pod's own IPv6 addresses; without one, IPv6 checks are not dialled (ipv6.ts).
 * `companionDone` is called once, when no check through the companion is left to run or running
 * (at once for a plan without one): the pod's share of the companion budget is free from then on.
 * `watching` says how the path watch asks a path and which paths answered before (path-watch.ts).
 */
export async function runPlan(
  plan: ProbePlan,
  ownIpv6: readonly string[] = ownIpv6Addresses(),
  companionDone: () => void = () => {},
  watching: WatchOptions = {},
): Promise<CheckResult[]> {
  const skipped = ownIpv6.length > 0 ? new Set<string>() : ipv6OnlyChecks(plan);
  const notDialled: Observation = {
    outcome: 'no-ipv6',
    class: 'indeterminate',
    durationMs: 0,
    detail: 'not dialled: the probe pod has no IPv6 address (loopback and link-local aside)',
  };
  const slots = plan.companionSlots === undefined ? undefined : new Slots(plan.companionSlots);
  let tunnelsLeft = plan.checks.filter((c) => !skipped.has(c.id) && opensTunnels(c)).length;
  if (tunnelsLeft === 0) companionDone();
  const paths = allowedPaths(plan.checks);
  const watched = plan.checks.some((c) => c.expect === 'blocked' && !skipped.has(c.id)) && paths.length > 0;
  const watch = watched ? watchPaths(paths, samplesFor(planDurationMs(plan)), describePath, watching) : undefined;
  const spans = new Map<string, Span>();
  const dial = async (c: Check): Promise<Observation> => {
    const run = async (): Promise<Observation> => {
      const from = performance.now();
      const observation = await observeAllowing(c, plan.companionCa);
      spans.set(c.id, { from, to: performance.now() });
      return observation;
    };
    if (!opensTunnels(c)) return run();
    try {
      return await (slots !== undefined && throughCompanion(c) ? slots.run(run) : run());
    } finally {
      if (--tunnelsLeft === 0) companionDone();
    }
  };
  // A sweep's thousand sockets would crowd the checks with tight deadlines: it runs after them.
  const observeAll = (checks: readonly Check[]) =>
    Promise.all(checks.map(async (c) => [c.id, skipped.has(c.id) ? notDialled : await dial(c)] as const));
  const observed = await observeAll(plan.checks.filter((c) => c.kind !== 'tcp-sweep'));
  observed.push(...(await observeAll(plan.checks.filter((c) => c.kind === 'tcp-sweep'))));
  const observations = new Map(observed);
  if (watch !== undefined) {
    try {
      await steadyBlocks(plan, observations, spans, watch);
    } finally {
      watch.stop();
    }
  }
  return judge(plan, observations);
}

interface Span {
  from: number;
  to: number;
}

/** A block that could be the silence's: any but the companion's own refusal, which is an answer. */
const couldBeSilence = (o: Observation | undefined): boolean => o?.class === 'blocked' && o.outcome !== 'proxy-refused';

/**
 * A must-fail check blocked while its pod's allowed path went silent proves nothing: it is
 * dialled once more when the path answers again, if it opens no tunnel (the pod's companion
 * share is spent). A block is kept only when the path answered on both sides of its dial; any
 * other is `path-unsteady`, inconclusive. A reach on the second dial is a bypass like any other.
 */
async function steadyBlocks(
  plan: ProbePlan,
  observations: Map<string, Observation>,
  spans: Map<string, Span>,
  watch: PathWatch,
): Promise<void> {
  const mustFail = plan.checks.filter((c) => c.expect === 'blocked' && spans.has(c.id));
  const silentDuring = async (c: Check): Promise<string[]> => {
    const span = spans.get(c.id);
    return span === undefined || !couldBeSilence(observations.get(c.id)) ? [] : watch.silentDuring(span.from, span.to);
  };
  const silent = await Promise.all(mustFail.map(silentDuring));
  const again = mustFail.flatMap((c, i) => {
    const paths = silent[i] ?? [];
    return paths.length > 0 && !opensTunnels(c) ? [{ c, paths }] : [];
  });
  if (again.length > 0 && (await watch.answersAfter(performance.now(), PATH_BACK_MS))) {
    await Promise.all(
      again.map(async ({ c, paths }) => {
        const first = observations.get(c.id);
        const from = performance.now();
        const second = await observe(c, plan.companionCa);
        spans.set(c.id, { from, to: performance.now() });
        const facts = { ...second.facts, firstDial: first?.outcome ?? 'none', pathSilent: paths.join(' and ') };
        observations.set(c.id, { ...second, facts, durationMs: (first?.durationMs ?? 0) + second.durationMs });
      }),
    );
  }
  // Judged again over everything the watch saw: a path that first answered late reveals a silence too.
  const still = await Promise.all(mustFail.map(silentDuring));
  mustFail.forEach((c, i) => {
    const paths = still[i] ?? [];
    const o = observations.get(c.id);
    if (paths.length === 0 || o === undefined) return;
    observations.set(c.id, {
      ...o,
      outcome: 'path-unsteady',
      class: 'indeterminate',
      detail: `${o.detail}; but ${paths.join(' and ')} went silent around the dial, so the block may be the silence's`,
      facts: { ...o.facts, dialOutcome: o.outcome },
    });
  });
}
