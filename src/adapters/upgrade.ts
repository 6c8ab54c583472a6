/**
 * Upgrade requests (WebSockets, any `Upgrade:`) reaching a node app, after the
 * pipeline's host check, mount and access control: through the 'upgrade' event
 * of the app's server (captured by listen(), exported, Fastify's or Nest's) or
 * an exported `upgrade(req, socket, head)`. An app with neither answers the
 * request as an ordinary one, and the connection closes after the answer.
 */
import type { IncomingMessage } from 'node:http';
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { AppHandler, RequestContext, UpgradeConnection } from '../pipeline/context.js';
import { formatError } from '../pipeline/error-response.js';
import type { InterfaceOptions } from './options.js';
import { presentToNodeApp } from './node.js';

export type NodeUpgradeFunction = (req: IncomingMessage, socket: Duplex, head: Buffer) => unknown;

/** Handles a request whose ctx.upgrade is set. */
export type UpgradeHandler = AppHandler;

/**
 * A socket property the drain calls to close a taken-over connection politely
 * (`(code) => void`); sockets without it that carry a `ws` WebSocket are closed
 * through that, others are destroyed (worker/open-upgrades.ts).
 */
export const CLOSE_UPGRADE = Symbol.for('tsgi-express.closeUpgrade');

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})/;

/**
 * Whoever takes the connection over writes its answer to the socket itself (a
 * `101 Switching Protocols`, or ws's `400`): the status of its first write is
 * what the access log records, with the connection's duration, when it closes.
 */
function noteStatus(socket: Duplex, ctx: RequestContext): void {
  const { write, end } = socket;
  const note = (chunk: unknown) => {
    socket.write = write;
    socket.end = end;
    const text = typeof chunk === 'string' ? chunk.slice(0, 16) : Buffer.isBuffer(chunk) ? chunk.toString('latin1', 0, 16) : '';
    const status = STATUS_LINE.exec(text);
    if (status) ctx.res.statusCode = Number(status[1]);
  };
  socket.write = function (this: Duplex, chunk: unknown, ...rest: unknown[]) {
    note(chunk);
    return Reflect.apply(write, this, [chunk, ...rest]) as boolean;
  } as Duplex['write'];
  socket.end = function (this: Duplex, chunk?: unknown, ...rest: unknown[]) {
    note(chunk);
    return Reflect.apply(end, this, [chunk, ...rest]) as Duplex;
  } as Duplex['end'];
}

/** The connection is the app's (or the proxy's) from here. */
export function takeOver(ctx: RequestContext): UpgradeConnection {
  const upgrade = ctx.upgrade!;
  ctx.res.statusCode = 101;
  noteStatus(upgrade.socket, ctx);
  return upgrade;
}

/** No upgrade handler: the app answers it as an ordinary request; the connection then closes (worker/upgrade.ts). */
export function answerAsRequest(ctx: RequestContext, handler: AppHandler): void {
  const { req } = ctx;
  // Node's parser stopped at the head: whatever followed it is the body, as far as anyone can tell.
  if (!req.complete && !req.readableEnded) {
    if (ctx.upgrade!.head.length > 0) req.push(ctx.upgrade!.head);
    req.push(null);
  }
  handler(ctx);
}

export interface NodeUpgradeSources {
  /** The server the app's upgrade listeners are on, when it exported one (Fastify, Nest, a server). */
  readonly server?: EventEmitter;
  readonly upgradeFn?: NodeUpgradeFunction;
  /** The server captured from listen(), looked up per request: the app may listen only after it loaded. */
  readonly capture?: { readonly captured: EventEmitter | undefined };
  readonly keepPrefix: boolean;
}

/** The upgrade handler of a node app; undefined when it has no place for one (upgrades stay ordinary requests). */
export function nodeUpgrade(
  sources: NodeUpgradeSources,
  opts: InterfaceOptions,
  handler: AppHandler,
): UpgradeHandler | undefined {
  if (!sources.server && !sources.upgradeFn && !sources.capture?.captured) return undefined;
  return (ctx) => {
    const server = sources.server ?? sources.capture?.captured;
    const target = server !== undefined && server.listenerCount('upgrade') > 0 ? server : undefined;
    if (target === undefined && sources.upgradeFn === undefined) return answerAsRequest(ctx, handler);
    presentToNodeApp(ctx, opts, sources.keepPrefix);
    const { socket, head } = takeOver(ctx);
    try {
      if (target !== undefined) target.emit('upgrade', ctx.req, socket, head);
      else void Promise.resolve(sources.upgradeFn!(ctx.req, socket, head)).catch((err: unknown) => fail(err));
    } catch (err) {
      fail(err);
    }
    function fail(err: unknown): void {
      opts.log.error(`the application's upgrade handler failed: ${formatError(err)}`, ctx.id);
      socket.destroy();
    }
  };
}
