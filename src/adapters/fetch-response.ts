/**
 * fetch Response -> ServerResponse. The body is streamed as the app produces it,
 * with backpressure; a body that is complete at once (a string, bytes, JSON) goes
 * out in one write with a Content-Length instead of chunked.
 */
import type { ServerResponse } from 'node:http';
import { fastParts, type ResponseParts } from './fetch-fast-response.js';

/** Also accepts a Response from another realm or an undici package copy. */
export function isResponse(value: unknown): value is Response {
  if (value instanceof Response) return true;
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<Response>;
  return typeof v.status === 'number' && typeof v.headers?.get === 'function' && 'body' in v;
}

/**
 * Headers about the connection, which the server owns (RFC 9110 7.6.1). A Response
 * passed on from an upstream fetch() can carry its `transfer-encoding: chunked`;
 * sent beside our own Content-Length, that would make the framing ambiguous.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

/** The pairs a FastResponse was given, less the server's own headers; a fresh list (a Response may be returned twice). */
function ownPairs(flat: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) if (!HOP_BY_HOP.has(flat[i]!)) out.push(flat[i]!, flat[i + 1]!);
  return out;
}

/** Flat [name, value, ...] list for writeHead; Set-Cookie values stay separate lines. */
function flatHeaders(headers: Headers): string[] {
  const flat: string[] = [];
  for (const [name, value] of headers) if (name !== 'set-cookie' && !HOP_BY_HOP.has(name)) flat.push(name, value);
  for (const cookie of headers.getSetCookie()) flat.push('set-cookie', cookie);
  return flat;
}

function hasName(flat: readonly string[], lowerName: string): boolean {
  for (let i = 0; i < flat.length; i += 2) if (flat[i] === lowerName) return true;
  return false;
}

type Chunk = Uint8Array | string;

function checkChunk(value: unknown): Chunk {
  if (value instanceof Uint8Array || typeof value === 'string') return value;
  const kind = value === null ? 'null' : typeof value === 'object' ? value.constructor?.name : typeof value;
  throw new TypeError(`Response body stream produced a ${kind}; a body chunk must be a Uint8Array`);
}

function byteLength(chunk: Chunk): number {
  return typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
}

/** Resolves on the next turn of the event loop: time enough for a settled body to report its end. */
const nextTurn = (): Promise<undefined> =>
  new Promise((resolve) => setImmediate(() => resolve(undefined)));

/** Waits for the socket to take more; 'close' too, since a client that went away never drains. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Writes the body from `pending` (a read already started) to its end, with backpressure. */
async function writeRest(
  res: ServerResponse,
  reader: ReadableStreamDefaultReader<unknown>,
  pending: Promise<{ done: boolean; value?: unknown }>,
): Promise<void> {
  for (;;) {
    const { done, value } = await pending;
    if (res.destroyed) return; // the client went away: nothing more to send or end
    if (done) return void res.end();
    if (!res.write(checkChunk(value))) await drained(res);
    pending = reader.read();
  }
}

/**
 * undici keeps what a Response was made from (the string, the copied bytes) beside
 * the stream it wraps it in; `response[kState].body.source`. Found by probing, so a
 * different undici (or another realm's Response) just takes the stream path.
 */
function findStateSymbol(): symbol | undefined {
  try {
    const probe = new Response('probe');
    for (const key of Object.getOwnPropertySymbols(probe)) {
      const state = (probe as unknown as Record<symbol, { body?: { source?: unknown } } | undefined>)[key];
      if (state?.body?.source === 'probe') return key;
    }
  } catch {}
  return undefined;
}

const kState = findStateSymbol();

/** The whole body when the Response was made from a string or bytes and nobody has read it. */
function wholeBody(response: Response): Chunk | undefined {
  if (kState === undefined) return undefined;
  const body = (response as unknown as Record<symbol, { body?: { source?: unknown; stream?: ReadableStream } | null } | undefined>)[kState]?.body;
  if (body == null) return undefined;
  const source = body.source;
  if (typeof source !== 'string' && !(source instanceof Uint8Array)) return undefined;
  if (body.stream === undefined || body.stream.locked || response.bodyUsed) return undefined;
  return source;
}

/** A FastResponse nothing made into undici's: status, headers and body written from its parts, in one go. */
function sendParts(parts: ResponseParts, res: ServerResponse): void {
  const status = parts.status;
  const headers = parts.headers === undefined ? ownPairs(parts.flat!) : flatHeaders(parts.headers);
  const bodiless = res.req.method === 'HEAD' || status === 204 || status === 304;
  const body = bodiless ? null : parts.body;
  // As for any other Response: a length, unless the app gave one or no body may follow.
  if (!bodiless && !hasName(headers, 'content-length')) headers.push('content-length', body === null ? '0' : String(byteLength(body)));
  res.writeHead(status, parts.statusText || undefined, headers);
  if (body === null) res.end();
  else res.end(body);
}

/**
 * Sends status, headers and the whole body. A FastResponse's parts are written at
 * once (undefined returned; a bad header throws); any other Response through
 * `sendStream`, whose promise rejects if the body stream fails.
 */
export function sendResponse(response: Response, res: ServerResponse): Promise<void> | undefined {
  const parts = fastParts(response);
  if (parts !== undefined) {
    sendParts(parts, res);
    return undefined;
  }
  return sendStream(response, res);
}

/** The server-side reading of a Response body: cancels it, unless it is only parts (nothing to cancel). */
export function discardResponse(response: Response): void {
  if (fastParts(response) === undefined) response.body?.cancel().catch(() => {});
}

async function sendStream(response: Response, res: ServerResponse): Promise<void> {
  const status = response.status;
  const reason = response.statusText || undefined;
  const headers = flatHeaders(response.headers);
  const bodiless = res.req.method === 'HEAD' || status === 204 || status === 304;
  // A body given whole (string, bytes, JSON): one write with a length, no stream read.
  const whole = bodiless ? undefined : wholeBody(response);
  if (whole !== undefined) {
    if (!hasName(headers, 'content-length')) headers.push('content-length', String(byteLength(whole)));
    res.writeHead(status, reason, headers).end(whole);
    return;
  }
  const body = response.body;
  if (body === null || bodiless) {
    if (!bodiless && !hasName(headers, 'content-length')) headers.push('content-length', '0');
    res.writeHead(status, reason, headers).end();
    await body?.cancel();
    return;
  }
  const reader = body.getReader();
  const onClose = () => {
    // The client went away: the app's stream is cancelled (its cancel() runs) rather than read on.
    if (!res.writableFinished) reader.cancel().catch(() => {});
  };
  res.once('close', onClose);
  try {
    const firstRead = reader.read();
    const first = await Promise.race([firstRead, nextTurn()]);
    if (first === undefined) {
      // No chunk yet (an event stream waiting for its first event): the head goes now,
      // so the client sees the response open, as it would from any Node fetch server.
      res.writeHead(status, reason, headers);
      res.flushHeaders();
      return await writeRest(res, reader, firstRead);
    }
    const chunk = first.done ? '' : checkChunk(first.value);
    const second = first.done ? Promise.resolve(first) : reader.read();
    // A body given whole (string, bytes, JSON) has ended by the next turn: send it with a length.
    const early = await Promise.race([second, nextTurn()]);
    if (early?.done) {
      if (!hasName(headers, 'content-length')) headers.push('content-length', String(byteLength(chunk)));
      res.writeHead(status, reason, headers).end(chunk);
      return;
    }
    res.writeHead(status, reason, headers);
    if (!res.write(chunk)) await drained(res);
    await writeRest(res, reader, second);
  } finally {
    res.off('close', onClose);
  }
}
