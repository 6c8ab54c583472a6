/**
 * Which request the code running now belongs to, so app output (console.log)
 * can be tagged with its request id. AsyncLocalStorage follows the request
 * across awaits and callbacks.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const scope = new AsyncLocalStorage<string>();

export function runInRequest<T>(rid: string, fn: () => T): T {
  return scope.run(rid, fn);
}

export function currentRequestId(): string | undefined {
  return scope.getStore();
}
