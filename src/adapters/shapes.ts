/**
 * Recognising what a module exports, without calling it: the shapes --interface
 * accepts, and a one-line description of anything else for the startup error.
 */

type Callable = (...args: never[]) => unknown;

/** A Hono app, `{ fetch }`, an itty router: anything with a fetch(request) method. */
export function hasFetch(value: unknown): value is { fetch: Callable } {
  return (typeof value === 'object' || typeof value === 'function') && value !== null &&
    typeof (value as { fetch?: unknown }).fetch === 'function';
}

/** A Koa app instance: an object (not a function) whose callback() builds the (req, res) handler. */
export function isKoaApp(value: unknown): value is { callback(): Callable } {
  return typeof value === 'object' && value !== null &&
    typeof (value as { callback?: unknown }).callback === 'function' &&
    typeof (value as { use?: unknown }).use === 'function';
}

/** An Express or Connect app: a (req, res, next) function that also has use() and handle(). */
export function isConnectApp(value: unknown): boolean {
  return typeof value === 'function' &&
    typeof (value as { use?: unknown }).use === 'function' &&
    typeof (value as { handle?: unknown }).handle === 'function';
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (hasFetch(value)) return typeof value === 'function' ? 'function with fetch()' : 'object with fetch()';
  if (isKoaApp(value)) return 'Koa-like app';
  if (isFastifyApp(value)) return 'Fastify app';
  if (isNestApp(value)) return 'Nest app';
  if (isServerObject(value)) return 'server';
  if (isThenable(value)) return 'Promise';
  if (isConnectApp(value)) return 'Express/Connect app';
  if (typeof value === 'function') return 'function';
  if (typeof value !== 'object') return typeof value;
  const keys = Object.keys(value);
  const shown = keys.slice(0, 5).join(', ') + (keys.length > 5 ? ', ...' : '');
  return keys.length === 0 ? 'empty object' : `object with ${shown}`;
}

/** "application (function), default (object with port, host)" */
export function describeExports(namespace: Record<string, unknown>): string {
  const names = Object.keys(namespace).filter((name) => name !== 'module.exports');
  if (names.length === 0) return 'nothing';
  return names.map((name) => `${name} (${describeValue(namespace[name])})`).join(', ');
}

/** A Fastify instance: ready() then its router (`routing`) serves; `server` is its http.Server. */
export function isFastifyApp(value: unknown): value is { ready(): Promise<unknown>; routing: Callable; server: unknown } {
  return typeof value === 'object' && value !== null &&
    typeof (value as { ready?: unknown }).ready === 'function' &&
    typeof (value as { routing?: unknown }).routing === 'function' &&
    typeof (value as { register?: unknown }).register === 'function';
}

/** A NestJS application (NestFactory.create): init() then its HTTP adapter's instance serves. */
export function isNestApp(value: unknown): value is {
  init(): Promise<unknown>;
  getHttpAdapter(): { getInstance(): unknown };
  getHttpServer(): unknown;
} {
  return typeof value === 'object' && value !== null &&
    typeof (value as { init?: unknown }).init === 'function' &&
    typeof (value as { getHttpAdapter?: unknown }).getHttpAdapter === 'function' &&
    typeof (value as { getHttpServer?: unknown }).getHttpServer === 'function';
}

/** A node:http/https/http2 server object (exported rather than listened on). */
export function isServerObject(value: unknown): value is import('node:events').EventEmitter {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { listen?: unknown; listenerCount?: unknown; address?: unknown };
  return typeof v.listen === 'function' && typeof v.listenerCount === 'function' && typeof v.address === 'function';
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null &&
    typeof (value as { then?: unknown }).then === 'function';
}
