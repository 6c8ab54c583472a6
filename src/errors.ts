/**
 * Errors with stable codes, and the exit codes the CLI and the worker use.
 * Codes are documented in docs/architecture.md; a test keeps the two in step.
 */

export const ExitCode = {
  OK: 0,
  /** Unexpected failure inside tsgi-express itself. */
  FAILURE: 1,
  /** Bad flag or bad option value (like optparse's usage error). */
  USAGE: 2,
  /** The application could not be loaded (worker) or never became ready (master). */
  APP_LOAD: 3,
  /** A worker could not listen (port in use, permission). */
  LISTEN: 4,
} as const;

export type ErrorCode =
  /** A bad flag, option value or combination. */
  | 'TSGI_USAGE'
  /** The loaded module exports nothing the chosen interface can call. */
  | 'TSGI_APP_SHAPE'
  /** The application broke a TSGI rule (startResponse arguments, headers, body items). */
  | 'TSGI_RESPONSE';

export class TsgiError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TsgiError';
    this.code = code;
  }
}

/** A bad flag, value or combination: reported as one line, exit code 2. */
export class UsageError extends TsgiError {
  constructor(message: string) {
    super('TSGI_USAGE', message);
    this.name = 'UsageError';
  }
}

/** Breaks a TSGI rule (start_response arguments, body items, headers). */
export class ResponseRuleError extends TsgiError {
  constructor(message: string) {
    super('TSGI_RESPONSE', message);
    this.name = 'ResponseRuleError';
  }
}
