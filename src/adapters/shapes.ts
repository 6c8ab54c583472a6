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
