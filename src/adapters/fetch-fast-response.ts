/**
 * The `Response` a fetch app builds in a worker that serves one: a subclass of
 * Node's own whose common shapes skip undici's construction. `new Response(body,
 * init)` with a string, a Uint8Array or ArrayBuffer, or no body, and a plain-object,
 * array or Headers init, keeps (status, statusText, body, header pairs) as given:
 * undici would wrap the body in a byte ReadableStream and fill a Headers at once
 * (in Node 20 about two thirds of a hello world's CPU). The server writes such a
 * Response straight from those parts (fetch-response.ts).
 *
 * The first use of anything else (`body`, `text()`, `clone()`, `bodyUsed` after a
 * read...) builds the real Response from the same parts, once, and every property
 * answers from it from then on, so the app sees a Response that behaves as Node's.
 * Bodies and inits of any other shape (streams, Blob, FormData, a status out of
 * range, headers to normalise) are built by undici at once, as before, with the
 * same errors. The bytes of a Uint8Array body are sent as they are when the
 * response is written, as `res.end(bytes)` would: not copied at construction.
 */
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { inspect } from 'node:util';

const NativeResponse = globalThis.Response;
const NativeHeaders = globalThis.Headers;
const NATIVE_PROTO = NativeResponse.prototype;

const STATE = Symbol('tsgi-express.response-parts');

/** What the server writes: status, reason, body, and the headers as pairs or as the Headers the app asked for. */
export interface ResponseParts {
  status: number;
  statusText: string;
  body: string | Uint8Array | null;
  /** [name, value, ...], names lower-case, valid; until the app reads `headers`. */
  flat: string[] | undefined;
  /** Made on the first read of `response.headers`; from then on it is the truth. */
  headers: Headers | undefined;
  /** The undici Response, once anything beyond the parts was asked for. */
  native: Response | undefined;
}

type WithParts = { [STATE]?: ResponseParts };

/** Statuses that must not carry a body (Fetch standard: "null body status"). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);
/** A reason phrase undici takes as it is (RFC 9112 reason-phrase). */
const REASON = /^[\t\x20-\x7e\x80-\xff]*$/;
const isWhitespace = (code: number) => code === 9 || code === 10 || code === 13 || code === 32;

function plainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** One header, checked as undici would accept it unchanged; false: let undici decide. */
function pushHeader(flat: string[], name: unknown, value: unknown): boolean {
  if (typeof name !== 'string' || typeof value !== 'string') return false;
  if (value.length > 0 && (isWhitespace(value.charCodeAt(0)) || isWhitespace(value.charCodeAt(value.length - 1)))) return false;
  try {
    validateHeaderName(name);
    validateHeaderValue(name, value);
  } catch {
    return false;
  }
  flat.push(name.toLowerCase(), value);
  return true;
}

/** The init's headers as pairs; undefined when undici must normalise or reject them. */
function headerPairs(init: unknown): string[] | Headers | undefined {
  if (init === undefined || init === null) return [];
  if (typeof init !== 'object') return undefined;
  if (init instanceof NativeHeaders) return new NativeHeaders(init);
  const flat: string[] = [];
  if (Array.isArray(init)) {
    for (const pair of init) {
      if (!Array.isArray(pair) || pair.length !== 2 || !pushHeader(flat, pair[0], pair[1])) return undefined;
    }
    return flat;
  }
  if (!plainObject(init)) return undefined;
  for (const name in init) {
    if (!Object.hasOwn(init, name) || !pushHeader(flat, name, (init as Record<string, unknown>)[name])) return undefined;
  }
  return flat;
}

function hasPair(flat: readonly string[], lowerName: string): boolean {
  for (let i = 0; i < flat.length; i += 2) if (flat[i] === lowerName) return true;
  return false;
}

/** The parts of `new Response(body, init)` when the fast shape applies, else undefined. */
function partsOf(body: unknown, init: unknown): ResponseParts | undefined {
  let bytes: string | Uint8Array | null;
  if (body === undefined || body === null) bytes = null;
  else if (typeof body === 'string' || body instanceof Uint8Array) bytes = body;
  else if (body instanceof ArrayBuffer) bytes = new Uint8Array(body);
  else return undefined;
  let status = 200;
  let statusText = '';
  let given: unknown;
  if (init !== undefined && init !== null) {
    if (typeof init !== 'object' || !plainObject(init)) return undefined;
    const i = init as ResponseInit;
    if (i.status !== undefined) {
      if (!Number.isInteger(i.status) || i.status < 200 || i.status > 599) return undefined;
      status = i.status;
    }
    if (i.statusText !== undefined) {
      if (typeof i.statusText !== 'string' || !REASON.test(i.statusText)) return undefined;
      statusText = i.statusText;
    }
    given = i.headers;
  }
  if (bytes !== null && NULL_BODY.has(status)) return undefined;
  const pairs = headerPairs(given);
  if (pairs === undefined) return undefined;
  const parts: ResponseParts = { status, statusText, body: bytes, flat: undefined, headers: undefined, native: undefined };
  if (pairs instanceof NativeHeaders) {
    if (typeof bytes === 'string' && !pairs.has('content-type')) pairs.set('content-type', 'text/plain;charset=UTF-8');
    parts.headers = pairs;
  } else {
    if (typeof bytes === 'string' && !hasPair(pairs, 'content-type')) pairs.push('content-type', 'text/plain;charset=UTF-8');
    parts.flat = pairs;
  }
  return parts;
}

function headersOf(parts: ResponseParts): Headers {
  if (parts.headers === undefined) {
    const headers = new NativeHeaders();
    const flat = parts.flat!;
    for (let i = 0; i < flat.length; i += 2) headers.append(flat[i]!, flat[i + 1]!);
    parts.headers = headers;
    parts.flat = undefined;
  }
  return parts.headers;
}

/** The undici Response these parts stand for, made once. */
function nativeOf(parts: ResponseParts): Response {
  return (parts.native ??= new NativeResponse(parts.body, { status: parts.status, statusText: parts.statusText, headers: headersOf(parts) }));
}

/** `this` itself when it is an undici Response (a subclass's, or a shape undici built), else the one its parts stand for. */
function real(response: object): Response {
  const parts = (response as WithParts)[STATE];
  return parts === undefined ? (response as Response) : nativeOf(parts);
}

/** The parts of a Response the server may write itself: a FastResponse nothing has turned into undici's. */
export function fastParts(value: unknown): ResponseParts | undefined {
  const parts = (value as WithParts | null | undefined)?.[STATE];
  return parts !== undefined && parts.native === undefined ? parts : undefined;
}

export class FastResponse {
  declare [STATE]?: ResponseParts;

  static [Symbol.hasInstance](value: unknown): boolean {
    // `x instanceof Response` holds for undici's own Responses too (fetch() returns them).
    if (this === FastResponse) return value instanceof NativeResponse;
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }

  /** Response.json() with a fast body when it has no headers of its own to merge. */
  static json(data: unknown, init?: ResponseInit): Response {
    if (init?.headers !== undefined) return NativeResponse.json(data, init);
    const body = JSON.stringify(data);
    if (body === undefined) throw new TypeError('Value is not JSON serializable');
    return new FastResponse(body, { status: init?.status, statusText: init?.statusText, headers: { 'content-type': 'application/json' } }) as unknown as Response;
  }

  constructor(body?: unknown, init?: unknown) {
    const parts = partsOf(body, init);
    // Any other shape: undici's Response, made with this class's (or a subclass's) prototype.
    if (parts === undefined) return Reflect.construct(NativeResponse, [body, init], new.target) as FastResponse;
    this[STATE] = parts;
  }

  get status(): number {
    const parts = this[STATE];
    return parts === undefined ? statusOf(this) : parts.native?.status ?? parts.status;
  }

  get statusText(): string {
    const parts = this[STATE];
    return parts === undefined ? statusTextOf(this) : parts.native?.statusText ?? parts.statusText;
  }

  get ok(): boolean {
    const status = this.status;
    return status >= 200 && status <= 299;
  }

  get headers(): Headers {
    const parts = this[STATE];
    if (parts === undefined) return headersGetter.call(this);
    return parts.native?.headers ?? headersOf(parts);
  }

  get bodyUsed(): boolean {
    const parts = this[STATE];
    if (parts !== undefined && parts.native === undefined) return false;
    return bodyUsedGetter.call(real(this));
  }

  get type(): Response['type'] {
    const parts = this[STATE];
    return parts !== undefined && parts.native === undefined ? 'default' : typeGetter.call(real(this));
  }

  [inspect.custom](depth: number, options: object): string {
    const parts = this[STATE];
    if (parts === undefined || parts.native !== undefined) return inspect(real(this), options);
    return `Response ${inspect({ status: this.status, statusText: this.statusText, headers: this.headers, body: parts.body }, { ...options, depth: depth < 0 ? 0 : depth })}`;
  }
}

function nativeGetter(name: string): (this: unknown) => any {
  return Object.getOwnPropertyDescriptor(NATIVE_PROTO, name)!.get!;
}
const statusGetter = nativeGetter('status');
const statusTextGetter = nativeGetter('statusText');
const headersGetter = nativeGetter('headers');
const bodyUsedGetter = nativeGetter('bodyUsed');
const typeGetter = nativeGetter('type');
const statusOf = (r: unknown): number => statusGetter.call(r);
const statusTextOf = (r: unknown): string => statusTextGetter.call(r);

// Everything else undici's Response has (body, text(), clone(), url, redirected, and
// whatever a later Node adds) answers from the real Response.
const OWN = new Set(Object.getOwnPropertyNames(FastResponse.prototype));
for (const name of Object.getOwnPropertyNames(NATIVE_PROTO)) {
  if (OWN.has(name)) continue;
  const desc = Object.getOwnPropertyDescriptor(NATIVE_PROTO, name)!;
  if (desc.get !== undefined) {
    const get = desc.get;
    Object.defineProperty(FastResponse.prototype, name, { configurable: true, enumerable: desc.enumerable, get(this: object) { return get.call(real(this)); } });
  } else if (typeof desc.value === 'function') {
    const method = desc.value as (...args: unknown[]) => unknown;
    Object.defineProperty(FastResponse.prototype, name, {
      configurable: true,
      enumerable: desc.enumerable,
      writable: true,
      value: { [name](this: object, ...args: unknown[]) { return method.apply(real(this), args); } }[name],
    });
  }
}
Object.setPrototypeOf(FastResponse.prototype, NATIVE_PROTO);
Object.setPrototypeOf(FastResponse, NativeResponse);
Object.defineProperty(FastResponse, 'name', { value: 'Response' });
