/**
 * The node interface: a `(req, res)` handler (Express, Connect, Koa's callback(),
 * plain http handlers) gets Node's own IncomingMessage and ServerResponse. As for
 * an Express sub-app, req.url is relative to the mount point and req.originalUrl
 * keeps the full URL; req.environ is the TSGI environ, built on first use.
 */
import { IncomingMessage, type ServerResponse } from 'node:http';
import type { Environ } from '../index.js'; // also declares req.environ and req.originalUrl
import type { AppHandler, RequestContext } from '../pipeline/context.js';
import { noteAppError } from '../debug/app-errors.js';
import { rememberEnviron } from '../debug/error-page.js';
import { bodyFailure } from '../pipeline/body-failure.js';
import { formatError, sendError } from '../pipeline/error-response.js';
import { isAbandoned } from '../pipeline/request-signal.js';
import { absoluteForm } from '../pipeline/request-view.js';
import { buildEnviron } from '../tsgi/environ.js';
import { createInput } from '../tsgi/input.js';
import { presentClient } from './client-socket.js';
import { requestErrors } from './request-errors.js';
import type { InterfaceOptions } from './options.js';

const ignore = (): void => {};

export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Length of the raw path prefix holding `segments` path segments ('/a/b' has 2; so has '//a//b'). */
function prefixLength(path: string, segments: number): number {
  let at = 0;
  for (let seen = 0; seen < segments; seen++) {
    while (path.charCodeAt(at + 1) === 47 /* '/' */) at++; // the mount stage merged repeated slashes
    const slash = path.indexOf('/', at + 1);
    if (slash < 0) return path.length;
    at = slash;
  }
  return at;
}

/**
 * The raw URL below the mount point. The mount stage matched scriptName on whole
 * segments of the decoded path, so the raw prefix is the same number of segments.
 */
export function urlBelowMount(url: string, scriptName: string): string {
  if (scriptName === '') return url;
  const target = absoluteForm(url)?.rest ?? url;
  const query = target.indexOf('?');
  const path = query < 0 ? target : target.slice(0, query);
  const rest = path.slice(prefixLength(path, scriptName.split('/').length - 1));
  const search = query < 0 ? '' : target.slice(query);
  return (rest === '' ? '/' : rest) + search;
}

const CONTEXT = Symbol('tsgi-express.context');
const ENVIRON = Symbol('tsgi-express.environ');

interface Tagged extends IncomingMessage {
  [CONTEXT]?: { ctx: RequestContext; opts: InterfaceOptions };
  [ENVIRON]?: Environ;
}

/**
 * req.environ as one getter on IncomingMessage.prototype: defining an accessor on
 * every request object costs a third of a hello-world's throughput, a plain
 * symbol-keyed field does not. Requests not served by this adapter (an http
 * client's responses) have no context and read undefined.
 */
function installEnvironGetter(): void {
  const proto = IncomingMessage.prototype as Tagged;
  if (Object.getOwnPropertyDescriptor(proto, 'environ')) return;
  Object.defineProperty(proto, 'environ', {
    configurable: true,
    enumerable: false,
    get(this: Tagged): Environ | undefined {
      const tag = this[CONTEXT];
      if (tag === undefined) return undefined;
      const { ctx, opts } = tag;
      // tsgi.input reads the same IncomingMessage: use one or the other, not both.
      this[ENVIRON] ??= buildEnviron(ctx, opts.server, createInput(this), requestErrors(ctx, opts.log));
      return this[ENVIRON];
    },
  });
}

/**
 * What a node app sees of the request: req.url below the mount point (or the full
 * URL with --keep-mount-prefix, for apps that know their base path), req.originalUrl
 * as sent, req.baseUrl the mount point, req.environ on first use.
 */
export function presentToNodeApp(ctx: RequestContext, opts: InterfaceOptions, keepPrefix: boolean): void {
  const req = ctx.req;
  const url = req.url ?? '/';
  req.originalUrl ??= url; // already set by the mount stage when it removed dot segments
  if (!keepPrefix) {
    req.url = urlBelowMount(url, ctx.scriptName);
    // Express routers start from req.baseUrl, as in a sub-app mounted with app.use(path, sub).
    if (ctx.scriptName !== '') (req as IncomingMessage & { baseUrl?: string }).baseUrl = ctx.scriptName;
  }
  (req as Tagged)[CONTEXT] = { ctx, opts };
  presentClient(req, ctx.forwarded);
}

export function createNodeHandler(handler: NodeHandler, opts: InterfaceOptions, keepPrefix = false): AppHandler {
  const { log, debugMode, guard } = opts;
  installEnvironGetter();

  const fail = (ctx: RequestContext, err: unknown) => {
    // The request's body failed: the server answered and closes the connection itself.
    if (bodyFailure(ctx.req) !== undefined) return log.debug(`response dropped: the request body failed (${formatError(err)})`, ctx.id);
    // After a --request-timeout the app's own error (a write to the answered response) is no news.
    if (isAbandoned(ctx.res)) return log.debug(`after the request timed out: ${formatError(err)}`, ctx.id);
    log.error(formatError(err), ctx.id);
    noteAppError(ctx.res, err, 'call');
    if (ctx.res.writableEnded) return;
    // The debug page lists the environ's keys (built now if the app never read req.environ).
    if (debugMode) rememberEnviron(ctx.res, ctx.req.environ);
    // Headers already out: the only honest signal left is a cut connection.
    if (!sendError(ctx.res, 500, { debugError: debugMode ? err : undefined })) ctx.res.destroy();
  };

  return (ctx) => {
    const { req, res } = ctx;
    presentToNodeApp(ctx, opts, keepPrefix);
    if (guard !== undefined) return guard.call(() => handler(req, res), ignore, (err) => fail(ctx, err));
    let result: unknown;
    try {
      result = handler(req, res);
    } catch (err) {
      return fail(ctx, err);
    }
    if (typeof (result as Partial<Promise<unknown>> | undefined)?.then === 'function') {
      (result as Promise<unknown>).then(undefined, (err: unknown) => fail(ctx, err));
    }
  };
}
