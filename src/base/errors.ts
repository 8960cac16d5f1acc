/**
 * Every error the CLI reports on purpose: a stable code, a one-line message, and the exit code it
 * maps to. Raw socket or API errors ride along as `cause` and are never printed as stack traces.
 */
/** Documented in docs/verdict.md; CI systems gate on these. */
export const ExitCode = {
  pass: 0,
  fail: 1,
  usage: 2,
  inconclusive: 3,
  infrastructure: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorCode = 'EV_USAGE' | 'EV_BAD_PLAN' | 'EV_BAD_CATALOGUE' | 'EV_INFRASTRUCTURE';

export class EgressVerifyError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCode;
  constructor(code: ErrorCode, message: string, exitCode: ExitCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

export class UsageError extends EgressVerifyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EV_USAGE', message, ExitCode.usage, options);
  }
}

export class PlanError extends EgressVerifyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EV_BAD_PLAN', message, ExitCode.usage, options);
  }
}

export class CatalogueError extends EgressVerifyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EV_BAD_CATALOGUE', message, ExitCode.usage, options);
  }
}

export class InfrastructureError extends EgressVerifyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EV_INFRASTRUCTURE', message, ExitCode.infrastructure, options);
  }
}

/** One line for the terminal, whatever was thrown. */
export function oneLine(err: unknown): string {
  if (err instanceof EgressVerifyError) return `egress-verify: ${err.message}`;
  const message = err instanceof Error ? err.message : String(err);
  return `egress-verify: unexpected error: ${message.split('\n')[0]}`;
}
