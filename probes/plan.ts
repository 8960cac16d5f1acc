/**
 * The probe plan's boundary: JSON in, a validated ProbePlan out, or one PlanError line.
 * Past this point the rest of the probe trusts the types.
 */
import { isIP } from 'node:net';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { PlanError } from '../src/base/errors.js';
import { urlEndpoint } from './base/endpoint.js';
import type { Check, ProbePlan } from './base/model.js';
import { endpointOf, KINDS, kindOf } from './kinds.js';
import * as generated from './plan-validate.generated.js';
import { controlCovers } from './verdict.js';

/** An environment variable a plan can be given in (at most 128 KiB; probe pods mount theirs). */
export const PLAN_ENV = 'EGRESS_VERIFY_PLAN';

// Precompiled (scripts/plan-validator.ts): every probe pod validates its plan, and compiling
// the schema at start-up cost each of them about 0.4 s of CPU and 20 MiB.
const validateSchema = generated.validatePlan as ValidateFunction<ProbePlan>;
const validHost = generated.validHost as ValidateFunction<string>;

export function parsePlan(text: string, source: string): ProbePlan {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new PlanError(`${source}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  return validatePlan(raw, source);
}

export function validatePlan(raw: unknown, source: string): ProbePlan {
  if (!validateSchema(raw)) {
    const e = validateSchema.errors?.[0];
    const where = e?.instancePath === '' || e === undefined ? '' : ` at ${e.instancePath}`;
    const extra = e?.params && 'allowedValues' in e.params ? ` ${JSON.stringify(e.params.allowedValues)}` : '';
    const unknownKey = e?.params && 'unevaluatedProperty' in e.params ? ` "${String(e.params.unevaluatedProperty)}"` : '';
    throw new PlanError(`${source}: invalid plan${where}: ${e?.message ?? 'does not match the schema'}${extra}${unknownKey}`);
  }
  const plan = raw;
  const byId = new Map<string, Check>();
  for (const check of plan.checks) {
    if (byId.has(check.id)) throw new PlanError(`${source}: duplicate check id "${check.id}"`);
    byId.set(check.id, check);
    checkFields(check, source);
  }
  for (const check of plan.checks) {
    if (check.controlFrom !== undefined && check.control !== undefined)
      throw new PlanError(`${source}: check "${check.id}" has both a control and controlFrom: one observer proves it`);
    if (check.control === undefined) continue;
    const control = byId.get(check.control);
    if (control === undefined) throw new PlanError(`${source}: check "${check.id}" names unknown control "${check.control}"`);
    if (!KINDS[control.kind].control || control.expect !== 'reachable' || control.control !== undefined) {
      throw new PlanError(
        `${source}: control "${control.id}" of "${check.id}" must be a reachable ${CONTROL_KINDS} check without a control of its own`,
      );
    }
    if (check.expect !== 'blocked') throw new PlanError(`${source}: check "${check.id}" expects reachable and cannot have a control`);
    // A control by name stands for a literal address only where the plan pairs the two.
    if (!controlCovers(check, control)) {
      throw new PlanError(
        `${source}: control "${control.id}" reaches ${endpointOf(control)?.host}, not the target ${endpointOf(check)?.host} of "${check.id}" (nor pairs it)`,
      );
    }
  }
  return plan;
}

const CONTROL_KINDS = Object.entries(KINDS)
  .filter(([, k]) => k.control)
  .map(([name]) => name)
  .join('/');

/**
 * Must-fail checks dial literal addresses: a DNS failure must never pass for a blocked route.
 * Every host a check dials, and every URL's host, is a name or an address: hosts are written
 * into CONNECT requests, where anything else could inject a header.
 */
function checkFields(check: Check, source: string): void {
  const kind = kindOf(check);
  const refuse = (why: string): never => {
    throw new PlanError(`${source}: check "${check.id}": ${why}`);
  };
  const host = (value: string, field: string): void => {
    if (!validHost(value) || (value.includes(':') && isIP(value) !== 6))
      refuse(`${field} ${JSON.stringify(value)} is not a host name or an IP address`);
  };
  for (const [field, value] of kind.literals(check)) {
    if (isIP(value) === 0) refuse(`${field} "${value}" is not a literal IP address`);
  }
  for (const [field, value] of kind.urls(check)) {
    if (!URL.canParse(value)) refuse(`${field} ${JSON.stringify(value)} is not a URL`);
    host(urlEndpoint(value).host, `${field}'s host`);
  }
  const endpoint = kind.endpoint(check);
  if (endpoint !== undefined) host(endpoint.host, 'host');
  try {
    kind.validate?.(check);
  } catch (err) {
    refuse((err as Error).message);
  }
}
