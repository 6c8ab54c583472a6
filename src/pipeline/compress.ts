/**
 * Stage: --compress-responses. Every response, static or the application's
 * through any interface, passes one filter on its ServerResponse: when its
 * headers go out, a body of one of the types mod_wsgi-express compresses
 * (§2.12: text/plain, text/html, text/xml, text/css, text/javascript,
 * application/xhtml+xml, application/javascript, application/json; and
 * image/svg+xml) is compressed with brotli or gzip, as Accept-Encoding prefers
 * (`Vary: Accept-Encoding` on every response whose body could be), and streamed
 * through zlib with backpressure both ways: the application is told to wait
 * ('drain') when zlib is full, zlib is paused while the client is slow.
 *
 * Left alone: bodies known to be under 1 KiB, 206 and Content-Range responses,
 * bodies already encoded (Content-Encoding, precompressed siblings), Cache-Control
 * no-transform, 1xx, 204, 304; HEAD gets the headers a GET would get (and with
 * --map-head-to-get Auto, the default, the application is asked for a GET). Chunks
 * written in one turn of the event loop are flushed together at its end, so a
 * streamed page reaches the client as it is produced, as mod_wsgi's flushes make
 * mod_deflate send it. A strong ETag gets the coding as a suffix (`"x-gzip"`,
 * Apache's DeflateAlterETag), and the suffix is taken off If-None-Match before
 * the application or the static files compare it, so a 304 still comes.
 *
 * Express's `compression` middleware does this job for one framework; it was not
 * used: it compresses 206 responses, keys on mime-db's wider "compressible"
 * list, and moves 'drain' listeners to its stream, which res.off() then cannot
 * remove (the fetch interface adds and removes one per wait).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import zlib from 'node:zlib';
import vary from 'vary';
import { acceptedCodings, type Coding } from '../static/codings.js';
import { mediaType } from '../static/mime.js';
import type { RequestContext, Stage } from './context.js';

export const COMPRESSIBLE_TYPES: ReadonlySet<string> = new Set([
  'text/plain', 'text/html', 'text/xml', 'text/css', 'text/javascript',
  'application/xhtml+xml', 'application/javascript', 'application/json', 'image/svg+xml',
]);

/** Smaller bodies gain less than the encoding costs (Express's compression uses the same). */
export const MIN_COMPRESS_BYTES = 1024;

const BROTLI_QUALITY = 4;
const SUFFIX = /-(gzip|br)"/g;

type Chunk = string | Uint8Array;
type Callback = (err?: Error | null) => void;
type WriteHead = (this: ServerResponse, status: number, reason?: unknown, headers?: unknown) => ServerResponse;
type Write = (this: ServerResponse, chunk: Chunk, encoding?: unknown, cb?: unknown) => boolean;
type End = (this: ServerResponse, chunk?: unknown, encoding?: unknown, cb?: unknown) => ServerResponse;

/** Headers passed to writeHead() put on the response, so the decision sees them all (as writeHead would: they win). */
function applyHeaders(res: ServerResponse, headers: unknown): void {
  if (Array.isArray(headers)) {
    const flat: unknown[] = Array.isArray(headers[0]) ? (headers as unknown[][]).flat() : headers;
    for (let i = 0; i < flat.length; i += 2) res.removeHeader(String(flat[i]));
    for (let i = 0; i < flat.length; i += 2) res.appendHeader(String(flat[i]), flat[i + 1] as string);
  } else if (headers !== null && typeof headers === 'object') {
    for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) {
      if (value !== undefined) res.setHeader(name, value);
    }
  }
}

function headerText(res: ServerResponse, name: string): string | undefined {
  const value = res.getHeader(name);
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

function byteLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return chunk instanceof Uint8Array ? chunk.byteLength : 0;
}

/**
 * If-None-Match naming a compressed variant ("x-gzip") compared as the plain tag,
 * for every interface: req.headers and rawHeaders kept in step. Returns the coding
 * taken off, to put back on a 304's ETag.
 */
function stripEtagSuffixes(req: IncomingMessage): string | undefined {
  const value = req.headers['if-none-match'];
  if (value === undefined || !value.includes('-')) return undefined;
  let coding: string | undefined;
  const plain = value.replace(SUFFIX, (_, c: string) => {
    coding ??= c;
    return '"';
  });
  if (coding === undefined) return undefined;
  req.headers['if-none-match'] = plain;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'if-none-match') raw[i + 1] = raw[i + 1]!.replace(SUFFIX, '"');
  }
  return coding;
}

class CompressingResponse {
  private readonly writeHead0: WriteHead;
  private readonly write0: Write;
  private readonly end0: End;
  private decided = false;
  private stream: zlib.Gzip | zlib.BrotliCompress | undefined;
  private flushQueued = false;
  private ended = false;

  constructor(
    private readonly ctx: RequestContext,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly strippedCoding: string | undefined,
  ) {
    const r = res as unknown as { writeHead: WriteHead; write: Write; end: End };
    this.writeHead0 = r.writeHead;
    this.write0 = r.write;
    this.end0 = r.end;
    r.writeHead = this.writeHead.bind(this) as WriteHead;
    r.write = this.write.bind(this) as Write;
    r.end = this.end.bind(this) as End;
  }

  private writeHead(status: number, reason?: unknown, headers?: unknown): ServerResponse {
    const res = this.res;
    if (this.decided || res.headersSent) return this.writeHead0.call(res, status, reason, headers);
    this.decided = true;
    if (typeof reason !== 'string') {
      headers ??= reason;
      reason = undefined;
    }
    if (headers !== undefined) applyHeaders(res, headers);
    this.decide(status);
    return this.writeHead0.call(res, status, reason);
  }

  private decide(status: number): void {
    const res = this.res;
    if (status === 304) return this.restoreEtag();
    if (status < 200 || status === 204 || status === 206 || res.hasHeader('content-range')) return;
    const type = headerText(res, 'content-type');
    if (type === undefined || !COMPRESSIBLE_TYPES.has(mediaType(type))) return;
    const encoding = headerText(res, 'content-encoding');
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') return;
    if (/no-transform/i.test(headerText(res, 'cache-control') ?? '')) return;
    const length = headerText(res, 'content-length');
    if (length !== undefined && Number(length) < MIN_COMPRESS_BYTES) return;
    vary(res, 'Accept-Encoding');
    const coding = acceptedCodings(this.req.headers)[0];
    if (coding === undefined) return;
    res.setHeader('Content-Encoding', coding);
    res.removeHeader('Content-Length');
    const etag = headerText(res, 'etag');
    if (etag !== undefined && etag.startsWith('"')) res.setHeader('ETag', `${etag.slice(0, -1)}-${coding}"`);
    // A HEAD the app sees as GET (--map-head-to-get) gets the headers; its body would go nowhere.
    if (this.req.method !== 'HEAD' && this.ctx.clientMethod !== 'HEAD') this.start(coding);
  }

  /** A 304 for a compressed variant names that variant's ETag, as the 200 did. */
  private restoreEtag(): void {
    const etag = headerText(this.res, 'etag');
    if (this.strippedCoding === undefined || etag === undefined || !etag.startsWith('"')) return;
    this.res.setHeader('ETag', `${etag.slice(0, -1)}-${this.strippedCoding}"`);
    vary(this.res, 'Accept-Encoding');
  }

  private start(coding: Coding): void {
    const res = this.res;
    const stream = coding === 'br'
      ? zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } })
      : zlib.createGzip();
    this.stream = stream;
    stream.on('data', (chunk: Buffer) => {
      if (!this.write0.call(res, chunk)) stream.pause();
    });
    stream.on('end', () => this.end0.call(res));
    stream.on('error', (err) => res.destroy(err));
    // The client took what was written: zlib may go on; zlib took what was written: the writer may.
    res.on('drain', () => stream.resume());
    stream.on('drain', () => res.emit('drain'));
    res.once('close', () => stream.destroy());
  }

  private write(chunk: Chunk, encoding?: unknown, cb?: unknown): boolean {
    const res = this.res;
    if (!this.decided && !res.headersSent) this.writeHead(res.statusCode);
    const stream = this.stream;
    if (stream === undefined) return this.write0.call(res, chunk, encoding, cb);
    if (this.ended || stream.destroyed) return false;
    this.queueFlush();
    return typeof encoding === 'function'
      ? stream.write(chunk, encoding as Callback)
      : stream.write(chunk, encoding as BufferEncoding, cb as Callback);
  }

  private end(chunk?: unknown, encoding?: unknown, cb?: unknown): ServerResponse {
    const res = this.res;
    if (typeof chunk === 'function') [cb, chunk] = [chunk, undefined];
    else if (typeof encoding === 'function') [cb, encoding] = [encoding, undefined];
    if (!this.decided && !res.headersSent) {
      // What Node does for end(body) with no Content-Length: the length is known.
      if (chunk != null && !res.hasHeader('content-length')) res.setHeader('Content-Length', byteLength(chunk, encoding));
      this.writeHead(res.statusCode);
    }
    const stream = this.stream;
    if (stream === undefined) return this.end0.call(res, chunk, encoding, cb);
    if (this.ended) return res;
    this.ended = true;
    if (typeof cb === 'function') res.once('finish', cb as () => void);
    if (chunk != null) stream.end(chunk as Chunk, encoding as BufferEncoding);
    else stream.end();
    return res;
  }

  /** Sends what zlib holds at the end of this turn of the event loop. */
  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      const stream = this.stream!;
      if (this.ended || stream.destroyed) return;
      stream.flush(stream instanceof zlib.Gzip ? zlib.constants.Z_SYNC_FLUSH : zlib.constants.BROTLI_OPERATION_FLUSH);
    });
  }
}

export const compressStage: Stage = (ctx, next) => {
  new CompressingResponse(ctx, ctx.req, ctx.res, stripEtagSuffixes(ctx.req));
  next(ctx);
};
