/**
 * IncomingMessage -> fetch Request, as the client addressed it: the public URL
 * (scheme and Host as the client sent them, mount point included), the filtered
 * headers, and the body streamed straight from the socket.
 *
 * `request.signal` aborts when the client goes away before the response is done,
 * or the request times out (--request-timeout): pipeline/request-signal.ts.
 * Handing undici an external AbortSignal for that costs every request a second
 * AbortController, setMaxListeners, an abort listener and a FinalizationRegistry
 * entry (a fifth of a hello world's CPU and most of the worker's extra memory), and
 * few apps read the signal. So the Request is a subclass whose signal is made on
 * first use: undici keeps a Request's signal under a symbol (set once in its
 * constructor, read by `signal`, `clone()` and `new Request(request)`, hence
 * `fetch(request)`), and an accessor for that symbol on the subclass's prototype
 * takes the place of the field. Where undici keeps it otherwise (a private field in
 * later versions), the signal is made eagerly as before.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ListenerInfo, RequestContext } from '../pipeline/context.js';
import { absoluteForm, requestScheme } from '../pipeline/request-view.js';
import { requestSignal } from '../pipeline/request-signal.js';
import { requestBody } from './request-body.js';

/** Only these may carry no body; every other method streams whatever the client sends. */
function hasBody(req: IncomingMessage): boolean {
  const method = req.method;
  if (method === 'GET' || method === 'HEAD') return false;
  const headers = req.headers;
  // Node's parser gives a request without either header an empty body; skip the stream then.
  return headers['transfer-encoding'] !== undefined ||
    (headers['content-length'] !== undefined && headers['content-length'] !== '0');
}

/**
 * The URL the client addressed. `scheme` is the request's (a trusted forwarded
 * scheme, or the connection's); the Host header already holds a trusted
 * forwarded host, which `forwardedHost` repeats for an absolute-form target.
 */
export function publicUrl(req: IncomingMessage, listener: ListenerInfo, scheme = listener.scheme, forwardedHost?: string): string {
  const url = req.url ?? '/';
  if (url.charCodeAt(0) !== 47 /* '/' */) {
    // Absolute-form request target (proxies send it): already the full URL, unless a
    // trusted proxy said otherwise.
    if (/^https?:\/\//i.test(url)) {
      const target = absoluteForm(url);
      if (target === undefined || (forwardedHost === undefined && url.toLowerCase().startsWith(scheme + ':'))) return url;
      return `${scheme}://${forwardedHost ?? target.authority}${target.rest}`;
    }
    return `${scheme}://${req.headers.host || 'localhost:' + listener.port}/${url === '*' ? '' : url}`;
  }
  return `${scheme}://${req.headers.host || 'localhost:' + listener.port}${url}`;
}

function headerPairs(raw: readonly string[]): [string, string][] {
  const pairs = new Array<[string, string]>(raw.length >> 1);
  for (let i = 0, j = 0; i < raw.length; i += 2, j++) pairs[j] = [raw[i]!, raw[i + 1]!];
  return pairs;
}


/** The symbol undici keeps a Request's signal under, if it keeps it in a plain field. */
function findSignalSymbol(): symbol | undefined {
  try {
    const probe = new Request('http://localhost/');
    const signal = probe.signal;
    for (const key of Object.getOwnPropertySymbols(probe)) {
      if ((probe as unknown as Record<symbol, unknown>)[key] === signal) return key;
    }
  } catch {}
  return undefined;
}

const kSignal = findSignalSymbol();
const RES = Symbol('tsgi-express.res');
const SIGNAL = Symbol('tsgi-express.signal');

interface Lazy {
  [RES]: ServerResponse;
  [SIGNAL]: AbortSignal | undefined;
}

/** The Request the fetch adapter hands the app: a plain Request whose signal is made when read. */
class ServerRequest extends Request {
  constructor(url: string, init: RequestInit, res: ServerResponse) {
    super(url, init);
    (this as unknown as Lazy)[RES] = res;
  }
}

if (kSignal !== undefined) {
  Object.defineProperty(ServerRequest.prototype, kSignal, {
    configurable: true,
    enumerable: false,
    get(this: Lazy): AbortSignal {
      return (this[SIGNAL] ??= requestSignal(this[RES]));
    },
    // undici's constructor stores the signal of its own controller, which nothing
    // aborts when no signal is passed in: the client's signal replaces it.
    set(this: Lazy, _ignored: AbortSignal) {
      this[SIGNAL] = undefined;
    },
  });
  const baseClone = Request.prototype.clone;
  Object.defineProperty(ServerRequest.prototype, 'clone', {
    configurable: true,
    enumerable: false,
    writable: true,
    value: function clone(this: Request): Request {
      const copy = baseClone.call(this);
      // undici's copy follows a controller of undici's own; make it follow the client instead.
      const controller = new AbortController();
      const signal = this.signal;
      if (signal.aborted) controller.abort(signal.reason);
      else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
      (copy as unknown as Record<symbol, unknown>)[kSignal] = controller.signal;
      return copy;
    },
  });
}

/** Throws TypeError when the Host header cannot form a URL (the caller answers 400). */
export function toRequest(ctx: RequestContext): Request {
  const { req, res } = ctx;
  const init: RequestInit & { duplex?: 'half' } = {
    method: req.method,
    headers: headerPairs(req.rawHeaders),
  };
  if (kSignal === undefined) init.signal = requestSignal(res);
  if (hasBody(req)) {
    init.body = requestBody(req, res);
    init.duplex = 'half';
  }
  return new ServerRequest(publicUrl(req, ctx.listener, requestScheme(ctx, ctx.listener.scheme), ctx.forwarded?.host), init, res);
}
