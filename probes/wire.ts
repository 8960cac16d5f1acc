/**
 * The probe → controller contract (schema: probes/wire.schema.json), one writer and one reader.
 * The probe prints one result line per check and then a summary line, and writes a compact
 * termination message as the fallback when the log is lost. The controller takes only
 * observations from either: it judges them itself with `judge` over the plan it sent, so a probe
 * that is broken, outdated or lying cannot turn its own verdict into a pass.
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { toolVersion } from '../src/base/package-root.js';
import type { Check, CheckResult, Finding, Observation, ObservationClass, Outcome, ProbePlan, Verdict } from './base/model.js';
import { describeTarget } from './kinds.js';
import { judge } from './runner.js';
// Precompiled from the schema (scripts/validators.ts): the controller compiled it on every run.
import * as generated from './wire-validate.generated.js';

export interface ToolId {
  name: 'egress-verify';
  version: string;
}

export type ResultLine = { type: 'result' } & CheckResult;
/** The rest of the report the results belong to; the controller reads only `tool`. */
export type SummaryLine = { type: 'summary'; tool: ToolId } & Record<string, unknown>;
/**
 * Printed once, as soon as the probe's last tunnel through the companion has closed: from then
 * on the pod holds no share of the run's companion budget, and the controller gives its lane to
 * the next pod (watch.ts) while this one finishes its must-fail checks.
 */
export type CompanionDoneLine = { type: 'companion-done' };

export function renderCompanionDone(): string {
  return `${JSON.stringify({ type: 'companion-done' } satisfies CompanionDoneLine)}\n`;
}

/** Whether a line of a probe's log is its companion-done line. */
export function isCompanionDone(line: string): boolean {
  try {
    return (JSON.parse(line) as { type?: unknown } | null)?.type === 'companion-done';
  } catch {
    return false;
  }
}

/** [check id, outcome, class, duration in ms, finding?]: what the truth table reads. */
export type CompactObservation = [id: string, outcome: Outcome, observed: ObservationClass, durationMs: number, finding?: Finding];

export interface TerminationMessage {
  tool: ToolId;
  observations: CompactObservation[];
  /** How many observations were left out to stay within the limit. */
  cut: number;
}

/** Kubernetes keeps at most 4096 bytes of a termination message. */
export const TERMINATION_MESSAGE_LIMIT = 4096;

/** The stdout format: a result line per check, then the rest of the report as the summary (a companion-done line may come before). */
export function renderJsonLines<T extends { tool: ToolId; results: readonly CheckResult[] }>(output: T): string {
  const { results, ...rest } = output;
  const lines = results.map((r) => JSON.stringify({ type: 'result', ...r } satisfies ResultLine));
  lines.push(JSON.stringify({ type: 'summary', ...rest } satisfies SummaryLine));
  return `${lines.join('\n')}\n`;
}

/** Bypass evidence survives a cut first: what is most likely to decide the run comes first. */
const KEEP_FIRST: Record<Verdict, number> = { fail: 0, error: 1, inconclusive: 2, pass: 3, skip: 4 };

export function renderTerminationMessage(results: readonly CheckResult[], version: string = toolVersion): string {
  const ranked = [...results]
    .sort((a, b) => KEEP_FIRST[a.verdict] - KEEP_FIRST[b.verdict])
    .map((r): CompactObservation => {
      const o = r.observation;
      return o.finding === undefined ? [r.id, o.outcome, o.class, o.durationMs] : [r.id, o.outcome, o.class, o.durationMs, o.finding];
    });
  const tool: ToolId = { name: 'egress-verify', version };
  // The largest possible `cut` bounds the frame; each kept observation adds itself and a comma.
  let used = Buffer.byteLength(JSON.stringify({ tool, observations: [], cut: ranked.length } satisfies TerminationMessage));
  const observations: CompactObservation[] = [];
  for (const entry of ranked) {
    const size = Buffer.byteLength(JSON.stringify(entry)) + 1;
    if (used + size > TERMINATION_MESSAGE_LIMIT) break;
    used += size;
    observations.push(entry);
  }
  return JSON.stringify({ tool, observations, cut: ranked.length - observations.length } satisfies TerminationMessage);
}

/** Where a probe ran and as which workload: stamped on every result read back. */
export interface PodRef {
  pod: string;
  node?: string;
  workload?: string;
}

const placed = (where: PodRef): Pick<CheckResult, 'pod' | 'node' | 'workload'> => ({
  pod: where.pod,
  ...(where.node ? { node: where.node } : {}),
  ...(where.workload ? { workload: where.workload } : {}),
});

export function errorResult(check: Check, where: PodRef, reason: string): CheckResult {
  return {
    id: check.id,
    kind: check.kind,
    expect: check.expect,
    target: describeTarget(check),
    verdict: 'error',
    reason,
    observation: { outcome: 'probe-error', class: 'error', durationMs: 0, detail: reason },
    ...(check.control === undefined ? {} : { control: check.control }),
    ...placed(where),
  };
}

export function errorResults(plan: ProbePlan, where: PodRef, reason: string): CheckResult[] {
  return plan.checks.map((c) => errorResult(c, where, reason));
}

/** ajv's standalone validators, typed as the compiled ones they replace. */
const wireValidators = {
  line: generated.validateLine as ValidateFunction<ResultLine | SummaryLine | CompanionDoneLine>,
  termination: generated.validateTermination as ValidateFunction<TerminationMessage>,
};

/** What one pod's output says: observations by check id, and problems of single checks. */
interface Received {
  observations: Map<string, Observation>;
  problems: Map<string, string>;
}

/** How the controller reads: the version it expects, and a control pod's observations to judge with. */
export interface ReadOptions {
  version?: string;
  /** Observations of the control pod by check id (see control-plan.ts). */
  direct?: ReadonlyMap<string, Observation>;
}

/** Reads a pod's log of JSON lines and re-judges it. Anything unreadable is an error, never a pass. */
export function resultsFromLog(log: string, plan: ProbePlan, where: PodRef, read: ReadOptions = {}): CheckResult[] {
  const source = `${where.pod}'s log`;
  const lines = log.split('\n').filter((l) => l.trim() !== '');
  const received: Received = { observations: new Map(), problems: new Map() };
  let summary: SummaryLine | undefined;
  let companionDone = false;
  for (const [i, text] of lines.entries()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return errorResults(plan, where, `probe output unreadable: line ${i + 1} of ${source} is not JSON`);
    }
    const validate = wireValidators.line;
    if (!validate(parsed))
      return errorResults(plan, where, `probe output unreadable: line ${i + 1} of ${source} is not a result or summary`);
    if (summary !== undefined) return errorResults(plan, where, `probe output unreadable: line ${i + 1} of ${source} follows the summary`);
    if (parsed.type === 'summary') summary = parsed;
    else if (parsed.type === 'result') receive(received, parsed.id, parsed.observation, source);
    else if (companionDone)
      return errorResults(plan, where, `probe output unreadable: line ${i + 1} of ${source} is a second companion-done`);
    else companionDone = true;
  }
  if (summary === undefined) return errorResults(plan, where, `probe output incomplete: ${source} has no summary line`);
  return rejudge(plan, where, checkVersion(received, summary.tool, read.version), source, read.direct);
}

/** The fallback when the log is lost: the compact observations, re-judged like a log. */
export function resultsFromTerminationMessage(message: string, plan: ProbePlan, where: PodRef, read: ReadOptions = {}): CheckResult[] {
  const source = `${where.pod}'s termination message`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return errorResults(plan, where, `${source} is not JSON`);
  }
  const validate = wireValidators.termination;
  if (!validate(parsed)) return errorResults(plan, where, `${source} is not a probe summary with observations`);
  const received: Received = { observations: new Map(), problems: new Map() };
  const detail = `from ${source} (log unavailable)`;
  for (const [id, outcome, observed, durationMs, finding] of parsed.observations) {
    receive(received, id, { outcome, class: observed, durationMs, detail, ...(finding && { finding }) }, source);
  }
  const cut = parsed.cut > 0 ? ` (${parsed.cut} cut to fit 4096 bytes)` : '';
  return rejudge(plan, where, checkVersion(received, parsed.tool, read.version), `${source}${cut}`, read.direct);
}

function receive(received: Received, id: string, observation: Observation, source: string): void {
  // A second result for one id (fail, then pass) leaves nothing to trust for that check.
  if (received.observations.has(id) || received.problems.has(id)) {
    received.observations.delete(id);
    received.problems.set(id, `${source} has more than one result for ${id}`);
    return;
  }
  received.observations.set(id, observation);
}

/** A probe of another version may observe or judge differently: its output is an error. */
function checkVersion(received: Received, tool: ToolId, version: string = toolVersion): Received | { unusable: string } {
  if (tool.version === version) return received;
  return { unusable: `probe version ${tool.version} differs from the controller's ${version}: its output is not read` };
}

/** Every verdict comes from `judge` over the plan the controller sent, never from the probe. */
function rejudge(
  plan: ProbePlan,
  where: PodRef,
  received: Received | { unusable: string },
  source: string,
  direct?: ReadonlyMap<string, Observation>,
): CheckResult[] {
  if ('unusable' in received) return errorResults(plan, where, received.unusable);
  const planned = new Set(plan.checks.map((c) => c.id));
  const unknown = [...received.observations.keys(), ...received.problems.keys()].filter((id) => !planned.has(id));
  // Results for checks the plan does not have: the output belongs to some other plan.
  if (unknown.length > 0) return errorResults(plan, where, `${source} has results for checks not in the plan: ${unknown.join(', ')}`);
  const judged = new Map(judge(plan, received.observations, direct).map((r) => [r.id, r]));
  return plan.checks.map((check) => {
    const result = received.observations.has(check.id) ? judged.get(check.id) : undefined;
    if (result !== undefined) return { ...result, ...placed(where) };
    return errorResult(check, where, received.problems.get(check.id) ?? `no result for ${check.id} in ${source}`);
  });
}
