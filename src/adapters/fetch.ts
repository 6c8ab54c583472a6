/**
 * The fetch interface: `fetch(request, environ)` -> Response, as Hono, itty and
 * `export default { fetch }` modules expect. The app owns the request from here;
 * its failures become a 500 and a logged stack.
 */
import type { Environ } from '../index.js';
import type { AppHandler, RequestContext } from '../pipeline/context.js';
import { noteAppError, type AppPhase } from '../debug/app-errors.js';
import { rememberEnviron } from '../debug/error-page.js';
import { bodyFailure } from '../pipeline/body-failure.js';
import { formatError, sendError } from '../pipeline/error-response.js';
import { isAbandoned } from '../pipeline/request-signal.js';
import { buildEnviron } from '../tsgi/environ.js';
import { presentClient } from './client-socket.js';
import { requestErrors } from './request-errors.js';
import { discardResponse, isResponse, sendResponse } from './fetch-response.js';
import { FORBIDDEN_METHODS, toRequest } from './fetch-request.js';
import { installFetchGlobals } from './fetch-globals.js';
import type { InterfaceOptions } from './options.js';
import { lazyInput } from './stream-input.js';

export type FetchFunction = (request: Request, environ: Environ) => Response | Promise<Response>;

/** What a WebSocket fetch app adds (adapters/fetch-websocket.ts): environ.upgrade, and the hand-over. */
export interface FetchExtension {
  /** Adds to each request's environ; `request` is the one the app gets. */
  decorate(environ: Environ, ctx: RequestContext, request: Request): void;
  /** Whether the app took the connection over (upgrade() said true): then its return value is not a response. */
  took(ctx: RequestContext): boolean;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'no prototype'})`;
  return `a ${typeof value}`;
}

export function createFetchHandler(fetchFn: FetchFunction, opts: InterfaceOptions, extension?: FetchExtension): AppHandler {
  const { server, log, debugMode, guard } = opts;
  installFetchGlobals();

  const fail = (ctx: RequestContext, err: unknown, phase: AppPhase = 'call') => {
    // The request's body failed: the server answered and closes the connection itself.
    if (bodyFailure(ctx.req) !== undefined) return log.debug(`response dropped: the request body failed (${formatError(err)})`, ctx.id);
    // After a --request-timeout the app's own error (often the abort it was told of) is no news.
    if (isAbandoned(ctx.res)) return log.debug(`after the request timed out: ${formatError(err)}`, ctx.id);
    log.error(formatError(err), ctx.id);
    noteAppError(ctx.res, err, phase);
    // Headers already out: the only honest signal left is a cut connection.
    if (!sendError(ctx.res, 500, { debugError: debugMode ? err : undefined })) ctx.res.destroy();
  };

  const respond = (ctx: RequestContext, result: unknown) => {
    if (extension?.took(ctx)) return;
    // The server already answered (--request-timeout, a failed request body): the app's Response is dropped.
    if (isAbandoned(ctx.res)) {
      if (isResponse(result)) discardResponse(result);
      return;
    }
    if (!isResponse(result)) {
      return fail(ctx, new TypeError(`the fetch handler returned ${describe(result)}, not a Response`));
    }
    if (result.status < 200) {
      // Response.error() (status 0) means "network error": the app has no answer to give.
      return fail(ctx, new TypeError(`the fetch handler returned a Response with status ${result.status}`));
    }
    let sending: Promise<void> | undefined;
    try {
      sending = sendResponse(result, ctx.res);
    } catch (err) {
      return fail(ctx, err, 'body');
    }
    sending?.catch((err: unknown) => fail(ctx, err, 'body'));
  };

  return (ctx) => {
    let request: Request;
    try {
      request = toRequest(ctx);
    } catch (err) {
      log.info(`cannot form a Request: ${(err as Error).message}`, ctx.id);
      if (FORBIDDEN_METHODS.has(ctx.req.method ?? '')) {
        sendError(ctx.res, 405, { detail: `The Fetch standard has no Request for the ${ctx.req.method} method.` });
      } else sendError(ctx.res, 400, { detail: 'The Host header or request target is not valid.' });
      return;
    }
    // The Request body is the one reader of the socket; tsgi.input reads through it.
    const input = lazyInput(request as { body: AsyncIterable<Uint8Array> | null });
    const environ = buildEnviron(ctx, server, input, requestErrors(ctx, log));
    // Hono's Node helpers (getConnInfo, node-ws) read c.env.incoming/outgoing, as
    // @hono/node-server provides them.
    presentClient(ctx.req, ctx.forwarded);
    environ.incoming = ctx.req;
    environ.outgoing = ctx.res;
    extension?.decorate(environ, ctx, request);
    if (debugMode) rememberEnviron(ctx.res, environ);
    if (guard !== undefined) {
      return guard.call(() => fetchFn(request, environ), (value) => respond(ctx, value), (err) => fail(ctx, err));
    }
    let result: Response | Promise<Response>;
    try {
      result = fetchFn(request, environ);
    } catch (err) {
      return fail(ctx, err);
    }
    if (typeof (result as Partial<Promise<Response>>)?.then === 'function') {
      (result as Promise<Response>).then((value) => respond(ctx, value), (err: unknown) => fail(ctx, err));
    } else respond(ctx, result);
  };
}
