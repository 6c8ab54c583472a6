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
  | 'TSGI_RESPONSE'
  /** The request body is not valid HTTP framing (a bad chunk size, a bad trailer, cut short). */
  | 'TSGI_BODY_MALFORMED'
  /** The request body grew past --limit-request-body. */
  | 'TSGI_BODY_TOO_LARGE'
  /** The request body did not arrive within --body-timeout (at --body-min-rate). */
  | 'TSGI_BODY_TIMEOUT'
  /** The client closed the connection before the request body ended. */
  | 'TSGI_BODY_ABORTED';

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

export type RequestBodyErrorCode = 'TSGI_BODY_MALFORMED' | 'TSGI_BODY_TOO_LARGE' | 'TSGI_BODY_TIMEOUT' | 'TSGI_BODY_ABORTED';

const BODY_STATUS: Record<RequestBodyErrorCode, number> = {
  TSGI_BODY_MALFORMED: 400,
  TSGI_BODY_TOO_LARGE: 413,
  TSGI_BODY_TIMEOUT: 408,
  TSGI_BODY_ABORTED: 400,
};

/**
 * Reading the request body failed for a reason that is the client's, not the
 * application's: every pending and later read of that body rejects with it,
 * whatever the interface (tsgi.input, the fetch Request body, the node `req`
 * stream). By then the server has answered the client itself (`status`, when no
 * response had started) and closes the connection; an application only has to
 * stop. `status` and `statusCode` are what http-errors-style handlers (Express,
 * Koa) read; `expose` says the message may be shown to the client.
 */
export class RequestBodyError extends TsgiError {
  declare readonly code: RequestBodyErrorCode;
  readonly status: number;
  readonly statusCode: number;
  readonly expose = true;
  constructor(code: RequestBodyErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'RequestBodyError';
    this.status = BODY_STATUS[code];
    this.statusCode = this.status;
  }
}

/** True for a RequestBodyError, also one from another copy of this module (checked by name and code). */
export function isRequestBodyError(err: unknown): err is RequestBodyError {
  if (err instanceof RequestBodyError) return true;
  const e = err as { name?: unknown; code?: unknown } | null;
  return typeof e === 'object' && e !== null && e.name === 'RequestBodyError' && typeof e.code === 'string' && e.code in BODY_STATUS;
}
