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

export function runInRequest<T>(rid: string, fn: () => T): T {
  if (scope) return scope.run(rid, fn);
  const outer = current;
  current = rid;
  try {
    return fn();
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
