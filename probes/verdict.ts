/**
 * The truth table: how an observation and its positive control become a verdict.
 * It is data plus one function so that the table in docs/verdict.md and the tests read the same rows.
 */

import type { Check, ControlSource, Expectation, Observation, ObservationClass, Outcome, Verdict } from './base/model.js';
import { endpointOf } from './kinds.js';

/**
 * What the positive control proved about the target: that a control pod (an identity no egress
 * policy selects) reached the same address, port and protocol directly, that the same host and
 * port answered through the companion, only the same host (another port or protocol), nothing,
 * that only a control pod could prove it and none reported, or there was no control at all.
 */
export type ControlState = 'proven-direct' | 'proven-port' | 'proven-host' | 'not-proven' | 'awaiting-direct' | 'absent';

/** Which control a state came from, for the report: the control pod's direct path wins. */
export function controlSource(state: ControlState): ControlSource {
  if (state === 'proven-direct') return 'control-pod';
  return state === 'proven-port' || state === 'proven-host' ? 'companion' : 'none';
}

/** What would turn an unproven "blocked" into a verdict; part of every such reason. */
const WOULD_PROVE = 'a control pod outside the egress policies (--control-namespace) or the companion reaching it would prove the block';

/** What about the check itself changes its row. */
export interface CheckTraits {
  /** The check exists only as another check's control (`purpose: 'control'`). */
  controlOnly?: boolean;
  /** A UDP check whose target the catalogue does not declare answers datagrams. */
  udpSilentUnknown?: boolean;
  /** An enforcement canary: only the companion's own refusal is a block. */
  canary?: boolean;
}

export interface TruthRow {
  expect: Expectation;
  observed: ObservationClass;
  /** Restricts the row to these outcomes; any outcome of the class when absent. */
  outcomes?: readonly Outcome[];
  /** Restricts the row to these control states; any when absent. */
  control?: readonly ControlState[];
  /** Restricts the row to observations carrying a failing finding. */
  failingFinding?: boolean;
  /** Restricts the row to checks with these traits. */
  traits?: CheckTraits;
  verdict: Verdict;
  reason: string;
}

/** A refusal or reset can come from the target's closed port as well as from a filter. */
const AMBIGUOUS_BLOCKS: readonly Outcome[] = ['refused', 'reset'];
const SILENT_BLOCKS: readonly Outcome[] = ['timeout', 'unreachable', 'filtered', 'servfail'];

const SKIP_REASON = 'skipped: an IPv6 target, and the probe pod has no IPv6 address to send from; proves nothing either way';

/** First matching row wins. */
export const TRUTH_TABLE: readonly TruthRow[] = [
  // Never a pass: a pod that cannot send IPv6 says nothing about what the policy does to IPv6.
  { expect: 'blocked', observed: 'indeterminate', outcomes: ['no-ipv6'], verdict: 'skip', reason: SKIP_REASON },
  { expect: 'blocked', observed: 'error', verdict: 'error', reason: 'the probe could not run the check' },
  // The canary's rows come before the controls': its evidence is the companion's refusal itself.
  {
    expect: 'blocked',
    observed: 'reached',
    traits: { canary: true },
    verdict: 'fail',
    reason: 'not enforced: the origin answered a request the companion must refuse',
  },
  {
    expect: 'blocked',
    observed: 'blocked',
    outcomes: ['proxy-refused'],
    traits: { canary: true },
    verdict: 'pass',
    reason: 'enforced: the companion refused the request with its own answer',
  },
  {
    expect: 'blocked',
    observed: 'blocked',
    traits: { canary: true },
    verdict: 'inconclusive',
    reason: 'the request did not reach the companion, so its policy was never asked',
  },
  {
    expect: 'blocked',
    observed: 'indeterminate',
    traits: { canary: true },
    verdict: 'inconclusive',
    reason: 'neither a refusal nor the origin: the companion could not reach the origin, or its answer is unsigned',
  },
  { expect: 'blocked', observed: 'reached', verdict: 'fail', reason: 'bypass: the target answered on a path that must be blocked' },
  {
    // The same packet answered from a pod the policies leave alone, so the target is up and the
    // port open: whatever stopped the twin (a silent drop or a reject) is the twin's policy.
    expect: 'blocked',
    observed: 'blocked',
    control: ['proven-direct'],
    verdict: 'pass',
    reason: 'blocked, while a control pod reached the same address, port and protocol directly',
  },
  {
    expect: 'blocked',
    observed: 'blocked',
    control: ['absent'],
    verdict: 'inconclusive',
    reason: `blocked, but no positive control shows the target is reachable: ${WOULD_PROVE}`,
  },
  {
    expect: 'blocked',
    observed: 'blocked',
    control: ['not-proven'],
    verdict: 'inconclusive',
    reason: `blocked, but no control reached the target (it may be down): ${WOULD_PROVE}`,
  },
  {
    expect: 'blocked',
    observed: 'blocked',
    control: ['awaiting-direct'],
    verdict: 'inconclusive',
    reason:
      'blocked, but only a direct dial from an identity no egress policy selects (a control pod, --control-namespace) can prove this target is up; the companion is not asked',
  },
  {
    expect: 'blocked',
    observed: 'blocked',
    traits: { udpSilentUnknown: true },
    verdict: 'inconclusive',
    reason:
      'no UDP answer, but the catalogue does not declare this target answers datagrams: a service that receives and stays silent looks the same',
  },
  {
    expect: 'blocked',
    observed: 'blocked',
    outcomes: SILENT_BLOCKS,
    control: ['proven-port', 'proven-host'],
    verdict: 'pass',
    reason: 'blocked, and the same target is reachable through the companion',
  },
  {
    expect: 'blocked',
    observed: 'blocked',
    outcomes: AMBIGUOUS_BLOCKS,
    control: ['proven-port'],
    verdict: 'pass',
    reason: 'refused on the direct path while the same port answers through the companion',
  },
  {
    expect: 'blocked',
    observed: 'blocked',
    outcomes: AMBIGUOUS_BLOCKS,
    control: ['proven-host'],
    verdict: 'inconclusive',
    reason: 'refused, but the control reached another port: a closed port looks the same as a reject',
  },
  {
    // A policy agent reprogramming its rules drops allowed and forbidden traffic alike.
    expect: 'blocked',
    observed: 'indeterminate',
    outcomes: ['path-unsteady'],
    verdict: 'inconclusive',
    reason:
      "blocked, but the pod's allowed path went silent around the dial (and again on a second dial, if one was made): the block may be the silence's",
  },
  {
    expect: 'blocked',
    observed: 'indeterminate',
    verdict: 'inconclusive',
    reason: 'the attempt says nothing about the route (e.g. a name that did not resolve)',
  },
  { expect: 'reachable', observed: 'error', verdict: 'error', reason: 'the probe could not run the check' },
  { expect: 'reachable', observed: 'indeterminate', outcomes: ['no-ipv6'], verdict: 'skip', reason: SKIP_REASON },
  {
    expect: 'reachable',
    observed: 'reached',
    failingFinding: true,
    verdict: 'fail',
    reason: 'reachable, but a required property does not hold',
  },
  { expect: 'reachable', observed: 'reached', verdict: 'pass', reason: 'reachable the allowed way' },
  {
    expect: 'reachable',
    observed: 'blocked',
    outcomes: ['proxy-refused'],
    traits: { controlOnly: true },
    verdict: 'inconclusive',
    reason: 'the companion refuses this control target (a locked-down companion rightly may): the checks it controls stay unproven',
  },
  { expect: 'reachable', observed: 'blocked', verdict: 'fail', reason: 'the allowed path is broken' },
  {
    expect: 'reachable',
    observed: 'indeterminate',
    outcomes: ['companion-slow'],
    verdict: 'inconclusive',
    reason:
      'the companion accepted the connection but answered nothing before the deadline: too slow to judge (lower --companion-concurrency or raise the deadline)',
  },
  {
    expect: 'reachable',
    observed: 'indeterminate',
    verdict: 'inconclusive',
    reason: 'the companion answered but the origin did not: the allowed path is not proven either way',
  },
];

export function decide(
  expect: Expectation,
  observation: Observation,
  control: ControlState,
  traits: CheckTraits = {},
): { verdict: Verdict; reason: string } {
  const failing = observation.finding?.failing === true;
  const hasTraits = (want: CheckTraits): boolean =>
    (want.controlOnly === undefined || want.controlOnly === (traits.controlOnly ?? false)) &&
    (want.udpSilentUnknown === undefined || want.udpSilentUnknown === (traits.udpSilentUnknown ?? false)) &&
    (want.canary === undefined || want.canary === (traits.canary ?? false));
  const row = TRUTH_TABLE.find(
    (r) =>
      r.expect === expect &&
      r.observed === observation.class &&
      (r.outcomes === undefined || r.outcomes.includes(observation.outcome)) &&
      (r.control === undefined || r.control.includes(control)) &&
      (r.failingFinding === undefined || r.failingFinding === failing) &&
      (r.traits === undefined || hasTraits(r.traits)),
  );
  // An unmatched combination is a gap in the table; never let it read as a pass.
  return row ?? { verdict: 'inconclusive', reason: `no rule for ${expect}/${observation.class}/${observation.outcome}/${control}` };
}

/**
 * Whether `control` stands for the host `check` dials: the same host, or a name the catalogue
 * pairs with that literal address (the control went by name, the check dials the address).
 */
export function controlCovers(check: Check, control: Check): boolean {
  const host = endpointOf(check)?.host;
  return host === undefined || controlStandsFor(control, host);
}

/** Whether `control` dials `host`, or goes by a name the catalogue pairs with that address. */
export function controlStandsFor(control: Check, host: string): boolean {
  const paired = control.kind === 'proxy-https' || control.kind === 'proxy-connect' ? (control.pairedAddresses ?? []) : [];
  return endpointOf(control)?.host === host || paired.includes(host);
}

/** How much a passed control proves about `check`'s target; 'not-proven' when it stands for another host. */
export function controlScope(check: Check, control: Check): 'proven-port' | 'proven-host' | 'not-proven' {
  if (!controlCovers(check, control)) return 'not-proven';
  const a = endpointOf(check);
  const b = endpointOf(control);
  if (a && b && a.port === b.port && a.protocol === b.protocol) return 'proven-port';
  return 'proven-host';
}
