/**
 * A worker that serves a fetch app gives it the server's own `Response` and
 * `Request` as the globals, as @hono/node-server does. `Response` is FastResponse
 * (fetch-fast-response.ts). The app's Request is a facade (fetch-request.ts) that
 * undici cannot read: `Request` is a subclass of undici's whose constructor, and
 * `fetch`, take the undici Request behind a facade. `instanceof Request` and
 * `instanceof Response` hold for undici's own objects (what `fetch()` returns) and
 * for ours. Installed once, when the fetch adapter is made.
 */
import { FastResponse } from './fetch-fast-response.js';
import { unwrapRequest } from './fetch-request.js';

const NativeRequest = globalThis.Request;

class ServerGlobalRequest extends NativeRequest {
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === ServerGlobalRequest) return value instanceof NativeRequest;
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }

  constructor(input: string | URL | Request, init?: RequestInit) {
    super(unwrapRequest(input) as string | URL | Request, init);
  }
}
Object.defineProperty(ServerGlobalRequest, 'name', { value: 'Request' });

let installed = false;

function define(name: string, value: unknown): void {
  Object.defineProperty(globalThis, name, { configurable: true, writable: true, enumerable: false, value });
}

export function installFetchGlobals(): void {
  if (installed) return;
  installed = true;
  const nativeFetch = globalThis.fetch;
  define('Response', FastResponse);
  define('Request', ServerGlobalRequest);
  define('fetch', function fetch(input: string | URL | Request, init?: RequestInit) {
    return nativeFetch(unwrapRequest(input) as string | URL | Request, init);
  });
}
