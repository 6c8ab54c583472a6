/**
 * The TSGI interface's AppHandler: builds the environ, calls the application and
 * hands its result to a TsgiResponse. The mount stage has already set
 * scriptName/pathInfo/queryString and filtered the headers.
 */
import type { AppGuard } from '../debug/app-guard.js';
import { rememberEnviron } from '../debug/error-page.js';
import type { Application } from '../index.js';
import type { Log } from '../logging/log.js';
import type { AppHandler } from '../pipeline/context.js';
import { buildEnviron, type ServerInfo } from './environ.js';
import { createErrorStream } from './errors-stream.js';
import { createInput } from './input.js';
import { TsgiResponse } from './response.js';

export interface TsgiHandlerOptions {
  readonly server: ServerInfo;
  readonly log: Log;
  readonly debugMode: boolean;
  /** --enable-debugger: application code is called through it (debug/app-guard.ts). */
  readonly guard?: AppGuard;
}

export function createTsgiHandler(app: Application, opts: TsgiHandlerOptions): AppHandler {
  const { server, log, debugMode, guard } = opts;
  return (ctx) => {
    const input = createInput(ctx.req);
    const errors = createErrorStream(log, ctx.id);
    const response = new TsgiResponse(ctx, log, debugMode, input, errors, guard);
    // Debug mode: the environ is kept for the debug page, which lists its keys.
    const environ = buildEnviron(ctx, server, input, errors);
    if (debugMode) rememberEnviron(ctx.res, environ);
    if (guard !== undefined) {
      return guard.call(
        () => app(environ, response.startResponse),
        (result) => response.send(result),
        (err) => response.fail(err),
      );
    }
    let result: unknown;
    try {
      result = app(environ, response.startResponse);
    } catch (err) {
      return response.fail(err);
    }
    response.send(result);
  };
}
