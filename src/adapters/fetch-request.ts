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
import { inspect } from 'node:util';
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

/** The undici Request for a facade: URL, headers (the app's copy if it made one) and the streamed body. */
function nativeRequest(ctx: RequestContext, url: string, headers: Headers | undefined): Request {
  const { req, res } = ctx;
  const init: RequestInit & { duplex?: 'half' } = {
    method: req.method,
    headers: headers ?? headerPairs(req.rawHeaders),
  };
  if (kSignal === undefined) init.signal = requestSignal(res);
  if (hasBody(req)) {
    init.body = requestBody(req, res);
    init.duplex = 'half';
  }
  return new ServerRequest(url, init, res);
}

/** Methods `new Request()` refuses (Fetch standard, "forbidden method"); CONNECT never gets here. */
export const FORBIDDEN_METHODS = new Set(['TRACE', 'TRACK']);

/** A request target undici's URL parser would give back unchanged (no escaping, no dot segments, no fragment). */
const PLAIN_TARGET = /^\/[!$&(-;=?-[\]_a-z~]*$/;
const DOT_SEGMENT = /\/\.\.?(?:[/?]|$)/;
/** A lower-case host name whose last label is not a number, or a canonical IPv4 address; a port that is not the scheme's default. */
const PLAIN_HOST = /^(?:(?:[a-z0-9_-]+\.)*[a-z][a-z0-9_-]*\.?|(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d))(?::[1-9]\d{0,4})?$/;

/** Whether URL keeps `host` as it is for `scheme` (it drops a default port and refuses one out of range). */
function plainHost(host: string, scheme: string): boolean {
  if (!PLAIN_HOST.test(host)) return false;
  const colon = host.lastIndexOf(':');
  if (colon < 0) return true;
  const port = host.slice(colon + 1);
  return port !== (scheme === 'https' ? '443' : '80') && Number(port) <= 65535;
}

// A kept-alive connection sends the same Host on every request: the last verdict is kept.
let lastHost = '';
let lastScheme = '';
let lastPlain = false;

/** `publicUrl` as `new Request(url).url` would read it: checked cheaply, parsed only when it might change. Throws TypeError. */
function requestUrl(url: string, scheme: string, host: string | undefined, target: string): string {
  if (host !== undefined && PLAIN_TARGET.test(target) && !DOT_SEGMENT.test(target)) {
    if (host !== lastHost || scheme !== lastScheme) {
      lastPlain = plainHost(host, scheme);
      lastHost = host;
      lastScheme = scheme;
    }
    if (lastPlain) return url;
  }
  return new URL(url).href;
}

const STATE = Symbol('tsgi-express.request-facade');

interface FacadeState {
  ctx: RequestContext;
  url: string;
  headers: Headers | undefined;
  native: Request | undefined;
}

type Facade = { [STATE]: FacadeState };

function nativeOf(state: FacadeState): Request {
  return (state.native ??= nativeRequest(state.ctx, state.url, state.headers));
}

/** The undici Request behind a facade (made now if need be); anything else as it is. */
export function unwrapRequest<T>(value: T): T | Request {
  const state = (value as Partial<Facade> | null | undefined)?.[STATE];
  return state === undefined ? value : nativeOf(state);
}

/**
 * The Request the fetch adapter hands the app: method, url, headers and signal answer
 * from the IncomingMessage; the undici Request (and the body stream) is made when
 * anything else is asked for (body, text(), clone(), bodyUsed after...), once, and
 * answers from then on. `request instanceof Request` is true (its prototype is
 * Request.prototype's heir, and the global `Request`, fetch-globals.ts, says so);
 * `new Request(request)` and `fetch(request)` take the undici Request behind it.
 */
class RequestFacade {
  declare [STATE]: FacadeState;

  constructor(state: FacadeState) {
    this[STATE] = state;
  }

  get method(): string {
    return this[STATE].ctx.req.method!;
  }

  get url(): string {
    return this[STATE].url;
  }

  get headers(): Headers {
    const state = this[STATE];
    if (state.headers === undefined) {
      state.headers = state.native !== undefined ? state.native.headers : new Headers(headerPairs(state.ctx.req.rawHeaders));
    }
    return state.headers;
  }

  get signal(): AbortSignal {
    const state = this[STATE];
    return state.native !== undefined ? state.native.signal : requestSignal(state.ctx.res);
  }

  get bodyUsed(): boolean {
    const state = this[STATE];
    return state.native !== undefined && state.native.bodyUsed;
  }

  [inspect.custom](depth: number, options: object): string {
    const state = this[STATE];
    if (state.native !== undefined) return inspect(state.native, options);
    return `Request ${inspect({ method: this.method, url: this.url, headers: this.headers }, { ...options, depth: depth < 0 ? 0 : depth })}`;
  }
}

// Everything else a Request has (body, text(), clone(), cache...; whatever a later Node
// adds) answers from the undici Request, through its own class (ServerRequest's clone()).
const OWN = new Set(Object.getOwnPropertyNames(RequestFacade.prototype));
for (const name of Object.getOwnPropertyNames(Request.prototype)) {
  if (OWN.has(name)) continue;
  const desc = Object.getOwnPropertyDescriptor(Request.prototype, name)!;
  const native = (facade: Facade) => nativeOf(facade[STATE]) as unknown as Record<string, any>;
  if (desc.get !== undefined) {
    Object.defineProperty(RequestFacade.prototype, name, { configurable: true, enumerable: desc.enumerable, get(this: Facade) { return native(this)[name]; } });
  } else if (typeof desc.value === 'function') {
    Object.defineProperty(RequestFacade.prototype, name, {
      configurable: true,
      enumerable: desc.enumerable,
      writable: true,
      value: { [name](this: Facade, ...args: unknown[]) { return native(this)[name](...args); } }[name],
    });
  }
}
Object.setPrototypeOf(RequestFacade.prototype, Request.prototype);

/** Throws TypeError when the method or the Host header cannot form a Request (the caller answers 405 or 400). */
export function toRequest(ctx: RequestContext): Request {
  const { req } = ctx;
  const method = req.method ?? 'GET';
  if (FORBIDDEN_METHODS.has(method)) throw new TypeError(`'${method}' HTTP method is unsupported.`);
  const scheme = requestScheme(ctx, ctx.listener.scheme);
  const url = publicUrl(req, ctx.listener, scheme, ctx.forwarded?.host);
  const target = req.url ?? '/';
  const host = target.charCodeAt(0) === 47 ? req.headers.host : undefined;
  const state: FacadeState = { ctx, url: requestUrl(url, scheme, host, target), headers: undefined, native: undefined };
  return new RequestFacade(state) as unknown as Request;
}
