/**
 * Which request the code running now belongs to, so app output (console.log)
 * can be tagged with its request id.
 *
 * AsyncLocalStorage follows a request across awaits, but once used it turns on
 * async hooks for every async resource in the process (each socket write, each
 * promise), a cost on every request whether the app prints or not. So it is
 * created only when the app first writes output: until then, the id of the
 * request whose synchronous code is running is kept in a plain variable, which
 * tags that first line (and any synchronous crash) correctly. Apps that never
 * print never pay for tracking.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

let scope: AsyncLocalStorage<string> | undefined;
let current: string | undefined;

/** Runs fn(arg) as part of request `rid` (fn and arg apart, so callers need no closure). */
export function runInRequest<A, T>(rid: string, fn: (arg: A) => T, arg: A): T {
  if (scope) return scope.run(rid, fn, arg);
  const outer = current;
  current = rid;
  try {
    return fn(arg);
  } finally {
    current = outer;
  }
}

export function currentRequestId(): string | undefined {
  return scope?.getStore() ?? current;
}

/** The app wrote output: from now on, follow requests across awaits too. */
export function trackRequests(): void {
  scope ??= new AsyncLocalStorage<string>();
}
