/**
 * One HTTP/2 stream as a node:http request and response: a real
 * http.IncomingMessage and a real http.ServerResponse whose output methods
 * write to the stream instead of a socket. So everything downstream of the
 * engines, the pipeline, the three interfaces, and Express, Koa or any
 * (req, res) handler, sees the objects it was written for: Express sets its
 * own prototypes on top of http.IncomingMessage and http.ServerResponse,
 * which is why it crashes on Node's http2 compatibility objects.
 *
 * The response is made as for HTTP/1.1 (headers, then body bytes, never
 * chunk-encoded here) and translated at the one place its bytes leave
 * (`_send`): the head becomes a HEADERS frame without the HTTP/1.1
 * connection headers (RFC 9113 8.2.2), the body goes to the stream as DATA.
 * Each stream gets a StreamSocket standing in for the connection: what an
 * app reads of a socket (addresses, the TLS session, the peer certificate)
 * comes from the real connection; what ends a connection ends only this
 * stream (destroy() resets it; the session and its other streams go on).
 */
import { EventEmitter } from 'node:events';
import { IncomingMessage, ServerResponse } from 'node:http';
import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { UNDERLYING_SOCKET } from '../net/proxy-protocol.js';

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR } = http2.constants;

/** Headers about the HTTP/1.1 connection itself, which HTTP/2 forbids (RFC 9113 8.2.2). */
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'http2-settings']);

/**
 * RST_STREAM, and no END_STREAM before it: how a response is cut short. node:http2's
 * close() first ends the writable side unless it is ending already, and flushes that
 * END_STREAM ahead of the reset, which would pass a partial body off as the whole one.
 * Marking the writable side as ending (a Writable state accessor, settable in every
 * supported Node) leaves only the reset.
 */
export function resetStream(stream: ServerHttp2Stream, code: number): void {
  if (stream.closed || stream.destroyed) return;
  const state = (stream as unknown as { _writableState: { ending: boolean } })._writableState;
  if (!state.ending) state.ending = true;
  stream.close(code);
}

const CUT_SHORT = new Error('the response was cut short');

/**
 * Resets a stream whose last write may still be on its way (INTERNAL_ERROR). Not with
 * resetStream's `ending`: Node 24 and later check, a tick after each write, whether the
 * stream is ending, and would mark that last DATA frame END_STREAM, so the client saw a
 * short body end before the reset. Destroyed with an error, the stream is never ending;
 * Node submits the reset after the data already handed to it.
 */
function cutStream(stream: ServerHttp2Stream): void {
  if (stream.closed || stream.destroyed) return;
  stream.once('error', () => {});
  stream.destroy(CUT_SHORT);
}

/** What every stream of one connection shares: the socket it came in on, read once. */
export class ConnectionInfo {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly remoteFamily: string | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  /** true on TLS, undefined on plain TCP (as net.Socket has it). */
  readonly encrypted: true | undefined;
  constructor(readonly socket: Socket) {
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    this.remoteFamily = socket.remoteFamily;
    this.localAddress = socket.localAddress;
    this.localPort = socket.localPort;
    this.encrypted = (socket as Partial<TLSSocket>).encrypted === true ? true : undefined;
  }
}

const RESPONSE_CUT_SHORT = new Error('the response was cut short');

/** kNeedDrain: set by OutgoingMessage#write when it returns false; whoever emits 'drain' clears it. */
const kNeedDrain = Object.getOwnPropertySymbols(new ServerResponse(new IncomingMessage(null as never))).find(
  (s) => s.description === 'kNeedDrain',
);

/**
 * The connection as one stream's request and response see it (req.socket,
 * res.socket). Not a stream itself: OutgoingMessage and IncomingMessage only
 * cork, check and listen to their socket, and the bytes go by `_send`.
 */
export class StreamSocket extends EventEmitter {
  _httpMessage: ServerResponse | null = null;
  destroyed = false;
  /** OutgoingMessage#end sets `_writableState.corked` before uncork(); nothing is corked here. */
  readonly _writableState = { corked: 0 };
  readonly writableCorked = 0;
  readonly readableHighWaterMark = 16 * 1024;
  readonly writableHighWaterMark = 16 * 1024;
  readonly alpnProtocol: string | false;
  /** Request body bytes read from the stream (--body-min-rate counts them). */
  bytesRead = 0;

  constructor(
    readonly stream: ServerHttp2Stream,
    private readonly conn: ConnectionInfo,
  ) {
    super();
    this.alpnProtocol = conn.encrypted ? 'h2' : false;
  }

  /**
   * The connection's own socket, as a TLSSocket's `_parent` is its TCP socket: what
   * the PROXY protocol recorded about the connection is found there (net/proxy-protocol.ts).
   */
  get _parent(): Socket { return this.conn.socket; }
  get [UNDERLYING_SOCKET](): Socket { return this.conn.socket; }
  get remoteAddress() { return this.conn.remoteAddress; }
  get remotePort() { return this.conn.remotePort; }
  get remoteFamily() { return this.conn.remoteFamily; }
  get localAddress() { return this.conn.localAddress; }
  get localPort() { return this.conn.localPort; }
  get encrypted() { return this.conn.encrypted; }
  get readable() { return !this.destroyed && this.stream.readable; }
  get writable() { return !this.destroyed && this.stream.writable; }
  get writableLength() { return this.stream.writableLength; }
  /** The TLS connection's own answers (the peer certificate, the protocol, the cipher...). */
  get tlsSocket(): TLSSocket | undefined { return this.conn.encrypted ? (this.conn.socket as TLSSocket) : undefined; }
  get authorized() { return this.tlsSocket?.authorized; }
  get authorizationError() { return this.tlsSocket?.authorizationError; }
  get servername() { return (this.tlsSocket as { servername?: string } | undefined)?.servername; }
  getPeerCertificate(detailed?: boolean) { return this.tlsSocket?.getPeerCertificate(detailed as true) ?? null; }
  getCertificate() { return this.tlsSocket?.getCertificate() ?? null; }
  getProtocol() { return this.tlsSocket?.getProtocol() ?? null; }
  getCipher() { return this.tlsSocket?.getCipher(); }
  getSession() { return this.tlsSocket?.getSession(); }
  isSessionReused() { return this.tlsSocket?.isSessionReused() ?? false; }
  address() { return this.conn.socket.address(); }

  cork(): void {}
  uncork(): void {}
  ref(): this { return this; }
  unref(): this { return this; }
  setNoDelay(): this { return this; }
  setKeepAlive(): this { return this; }
  pause(): this {
    this.stream.pause();
    return this;
  }
  resume(): this {
    this.stream.resume();
    return this;
  }
  setTimeout(ms: number, callback?: () => void): this {
    if (callback) this.once('timeout', callback);
    if (this.stream.listenerCount('timeout') === 0) this.stream.on('timeout', onStreamTimeout);
    this.stream.setTimeout(ms);
    return this;
  }

  /** The end of this exchange: a response still unfinished could not be completed (the stream is reset, INTERNAL_ERROR). */
  end(): this {
    return this.destroy(RESPONSE_CUT_SHORT);
  }

  /** Resets this stream unless it already ended cleanly; never the session. */
  destroy(err?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    resetStream(this.stream, err ? NGHTTP2_INTERNAL_ERROR : NGHTTP2_CANCEL);
    process.nextTick(() => this.emit('close', err !== undefined));
    return this;
  }

  /** The stream closed (the response finished, or the client reset it). */
  closed(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.emit('close', false);
  }
}

const STREAM = Symbol('tsgi-express.http2Stream');
const BRIDGED_REQ = Symbol('tsgi-express.req');
const BRIDGED_RES = Symbol('tsgi-express.res');
const BRIDGED_SOCKET = Symbol('tsgi-express.socket');
const ANSWERED = Symbol('tsgi-express.answered');
/** The stream's 'drain' listener is added when a write first has to wait (most responses never do). */
const DRAIN_LISTENED = Symbol('tsgi-express.drainListened');
const RESPONDED = Symbol('tsgi-express.responded');
const ENDED = Symbol('tsgi-express.ended');
/** Body bytes written to the stream, and the Content-Length the head declared (-1: none). */
const SENT = Symbol('tsgi-express.sent');
const DECLARED = Symbol('tsgi-express.declared');

/** An HTTP/1.1 response head (`HTTP/1.1 200 OK\r\nName: value\r\n...`) as HTTP/2 headers. */
function headFrame(status: number, head: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { ':status': status };
  let at = head.indexOf('\r\n') + 2;
  while (at < head.length - 2) {
    const end = head.indexOf('\r\n', at);
    const colon = head.indexOf(':', at);
    if (end < 0 || colon < 0 || colon > end) break;
    const name = head.slice(at, colon).toLowerCase();
    at = end + 2;
    if (CONNECTION_HEADERS.has(name)) continue;
    const value = head.slice(colon + 1, end).trim();
    const previous = headers[name];
    if (previous === undefined) headers[name] = value;
    else if (Array.isArray(previous)) previous.push(value);
    else headers[name] = [String(previous), value];
  }
  return headers;
}

/** The response's own view of what OutgoingMessage keeps in underscore fields. */
interface Bridged extends ServerResponse {
  [STREAM]: ServerHttp2Stream;
  [RESPONDED]: boolean;
  [ENDED]: boolean;
  [SENT]: number;
  [DECLARED]: number;
  _header: string | null;
  _headerSent: boolean;
  chunkedEncoding: boolean;
}

const base = ServerResponse.prototype as unknown as {
  _storeHeader(this: ServerResponse, firstLine: string, headers: unknown): void;
  flushHeaders(this: ServerResponse): void;
  end(this: ServerResponse, ...args: unknown[]): ServerResponse;
};

/** Sends the HEADERS frame, once; endStream when no body follows. */
function respond(res: Bridged, endStream: boolean): void {
  if (res[RESPONDED]) return;
  res[RESPONDED] = true;
  res._headerSent = true;
  const stream = res[STREAM];
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  const frame = headFrame(res.statusCode, res._header ?? '');
  const declared = frame['content-length'];
  if (declared !== undefined && !Array.isArray(declared)) res[DECLARED] = Number(declared);
  // No Date added by node:http2: Node's HTTP/1.1 head has one (sendDate).
  stream.respond(frame, { endStream, sendDate: false } as http2.ServerStreamResponseOptions);
}

/*
 * The methods below replace OutgoingMessage's on each bridged response, as
 * its own properties: frameworks give `res` a prototype of their own (Express
 * sets app.response, whose chain ends in http.ServerResponse.prototype), so
 * an override on a subclass would be lost. They are shared functions, not
 * closures; everything above them (headers, Content-Length, HEAD, 204/304,
 * write/end, backpressure) is Node's own HTTP/1.1 logic, unchanged.
 */

/** After Node builds the head: the body is never chunk-encoded here, HTTP/2 frames it. */
function storeHeader(this: Bridged, firstLine: string, headers: unknown): void {
  base._storeHeader.call(this, firstLine, headers);
  this.chunkedEncoding = false;
}

/** Where OutgoingMessage hands over every body byte (and, with the first, the head). */
function send(this: Bridged, data: string | Uint8Array, encoding?: BufferEncoding | null, callback?: (() => void) | null): boolean {
  if (data.length === 0) {
    if (typeof callback === 'function') process.nextTick(callback);
    return true;
  }
  respond(this, false);
  this[SENT] += typeof data === 'string' ? Buffer.byteLength(data, encoding ?? 'utf8') : data.byteLength;
  const stream = this[STREAM];
  if (stream.destroyed || !stream.writable) {
    if (typeof callback === 'function') process.nextTick(callback);
    return false;
  }
  const ok = stream.write(data, encoding ?? 'utf8', typeof callback === 'function' ? callback : undefined);
  if (!ok && !(stream as Partial<Bridging> & { [DRAIN_LISTENED]?: boolean })[DRAIN_LISTENED]) {
    (stream as unknown as Record<symbol, boolean>)[DRAIN_LISTENED] = true;
    stream.on('drain', onStreamDrain);
  }
  return ok;
}

/** Interim responses (100 Continue, 103 Early Hints), which Node writes as raw HTTP/1.1. */
function writeRaw(this: Bridged, data: string | Uint8Array, _encoding?: unknown, callback?: unknown): boolean {
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('latin1');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  const stream = this[STREAM];
  if (status >= 100 && status < 200 && !stream.destroyed && !stream.headersSent) stream.additionalHeaders(headFrame(status, text));
  if (typeof callback === 'function') process.nextTick(callback as () => void);
  return true;
}

function flushHeaders(this: Bridged): void {
  base.flushHeaders.call(this);
  respond(this, false);
}

function end(this: Bridged, chunk?: unknown, encoding?: unknown, callback?: unknown): Bridged {
  base.end.call(this, chunk, encoding, callback);
  if (this.finished && !this[ENDED]) {
    this[ENDED] = true;
    const stream = this[STREAM];
    if (!this[RESPONDED]) respond(this, true);
    else if (truncated(this)) {
      // Fewer bytes than the Content-Length: ending the stream would pass them off as the
      // whole body (a client takes that as a protocol error). The stream is reset instead,
      // as HTTP/1.1 closes the connection, so the client knows it was cut short.
      cutStream(stream);
    }
    // respond() has ended it already for HEAD, 204, 205 and 304.
    else if (!stream.destroyed && !stream.writableEnded) stream.end();
  }
  return this;
}

/** Whether the response ends short of the Content-Length it declared (a HEAD or 204/304 has no body to count). */
function truncated(res: Bridged): boolean {
  const declared = res[DECLARED];
  if (declared < 0 || res[SENT] >= declared) return false;
  const status = res.statusCode;
  return res.req.method !== 'HEAD' && status !== 204 && status !== 304 && status >= 200;
}

/** An http.ServerResponse that writes to `stream`. */
export function bridgeResponse(req: IncomingMessage, stream: ServerHttp2Stream): ServerResponse {
  const res = new ServerResponse(req) as Bridged;
  res[STREAM] = stream;
  res[RESPONDED] = false;
  res[ENDED] = false;
  res[SENT] = 0;
  res[DECLARED] = -1;
  // The body goes to the stream as it is: never chunk-encoded (the HEADERS frame has no
  // Transfer-Encoding), so a response without Content-Length ends with the stream.
  res.useChunkedEncodingByDefault = false;
  const own = res as unknown as Record<string, unknown>;
  own._storeHeader = storeHeader;
  own._send = send;
  own._writeRaw = writeRaw;
  own.flushHeaders = flushHeaders;
  own.end = end;
  return res;
}

/** The stream can take more: what the HTTP/1.1 server does on a socket's 'drain'. */
function drained(res: ServerResponse): void {
  const flags = res as unknown as Record<symbol, boolean>;
  if (res.finished || (kNeedDrain !== undefined && !flags[kNeedDrain])) return;
  if (kNeedDrain !== undefined) flags[kNeedDrain] = false;
  res.emit('drain');
}

/** The request's headers without pseudo-headers; :authority becomes Host (RFC 9113 8.3.1). */
function requestHeaders(raw: readonly string[], authority: string | undefined): string[] {
  const out: string[] = authority === undefined ? [] : ['host', authority];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 58 /* : */) continue;
    if (authority !== undefined && name === 'host') continue; // :authority wins
    out.push(name, raw[i + 1]!);
  }
  return out;
}

/** Flattens the headers object when a Node version gives no rawHeaders with the 'stream' event. */
function flatten(headers: IncomingHttpHeaders): string[] {
  const raw: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) raw.push(name, String(v));
  }
  return raw;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Streams with nothing to bridge: CONNECT has no :path, and an origin server does not tunnel. */
function refuse(stream: ServerHttp2Stream, status: number): void {
  stream.respond({ ':status': status, 'content-length': 0 }, { endStream: true });
}

/** What the stream's shared listeners need, kept on the stream (no closure per stream). */
interface Bridging extends ServerHttp2Stream {
  [BRIDGED_REQ]: IncomingMessage;
  [BRIDGED_RES]: Bridged;
  [BRIDGED_SOCKET]: StreamSocket;
  [ANSWERED]: boolean;
}

function ignore(): void {}

function onStreamData(this: Bridging, chunk: Buffer): void {
  this[BRIDGED_SOCKET].bytesRead += chunk.length;
  if (!this[BRIDGED_REQ].push(chunk)) this.pause();
}

function onStreamEnd(this: Bridging): void {
  const req = this[BRIDGED_REQ];
  req.complete = true;
  req.push(null);
}

function onStreamDrain(this: Bridging): void {
  drained(this[BRIDGED_RES]);
}

function onStreamTimeout(this: Bridging): void {
  const socket = this[BRIDGED_SOCKET];
  socket.emit('timeout');
  if (!this[BRIDGED_REQ].emit('timeout') && !this[BRIDGED_RES].emit('timeout')) socket.destroy();
}

/**
 * The stream closed. Before the response was complete, the client reset it or
 * the session ended: as the HTTP/1.1 server does when a connection closes under
 * a request, the request is aborted ('aborted', 'close'), then the response closes.
 */
function onStreamClose(this: Bridging): void {
  if (!this[ANSWERED]) this[BRIDGED_REQ].destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
  this[BRIDGED_SOCKET].closed();
}

function emitResponseClose(res: ServerResponse): void {
  const closing = res as unknown as { _closed: boolean };
  if (closing._closed) return;
  closing._closed = true;
  res.destroyed = true;
  res.emit('close');
}

/**
 * The response is complete. As the HTTP/1.1 server does: a request body nobody
 * read is dropped, and the response closes on the next tick. A body the client is
 * still sending is refused with RST_STREAM(NO_ERROR) (RFC 9113 8.1).
 */
function onResponseFinish(this: Bridged): void {
  const stream = this[STREAM] as Bridging;
  const req = stream[BRIDGED_REQ];
  stream[ANSWERED] = true;
  const incoming = req as unknown as { _consuming: boolean; _readableState: { resumeScheduled: boolean }; _dump(): void };
  if (!incoming._consuming && !incoming._readableState.resumeScheduled) incoming._dump();
  const clientDone = (stream as unknown as { _readableState: { ended: boolean } })._readableState.ended;
  if (!clientDone && !stream.closed) stream.close(NGHTTP2_NO_ERROR);
  const socket = stream[BRIDGED_SOCKET];
  if (socket._httpMessage === this) this.detachSocket(socket as unknown as Socket);
  process.nextTick(emitResponseClose, this);
}

/** Bridges one stream to `handle(req, res)`; `watch` sees them first (timeouts). */
export function bridgeStream(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  rawHeaders: readonly string[] | undefined,
  conn: ConnectionInfo,
  handle: RequestHandler,
  watch?: RequestHandler,
): void {
  // A stream reset by the client, or a write to one, reports an 'error': this
  // stream's end, never the worker's.
  stream.on('error', ignore);
  const method = headers[':method'];
  const path = headers[':path'];
  if (method === 'CONNECT' || typeof path !== 'string' || typeof method !== 'string') return refuse(stream, 405);
  const socket = new StreamSocket(stream, conn);
  const req = new IncomingMessage(socket as unknown as Socket);
  req.method = method;
  req.url = path;
  const authority = headers[':authority'];
  const lines = requestHeaders(rawHeaders ?? flatten(headers), typeof authority === 'string' ? authority : undefined);
  const bodiless = stream.endAfterHeaders;
  // HTTP/2 frames a body without Content-Length; HTTP/1.1 would say chunked, and body parsers
  // (Express's, type-is) look for one of the two. Apache's mod_http2 adds the same header.
  if (!bodiless && headers['content-length'] === undefined) lines.push('transfer-encoding', 'chunked');
  // As node:http's parser gives them: rawHeaders, and req.headers built from them when first read.
  (req as unknown as { _addHeaderLines(h: string[], n: number): void })._addHeaderLines(lines, lines.length);
  // Made while the version still reads 1.1: ServerResponse reads a TE header for HTTP/1.0.
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  const res = bridgeResponse(req, stream);
  req.httpVersionMajor = 2;
  req.httpVersionMinor = 0;
  req.httpVersion = '2.0';
  res.assignSocket(socket as unknown as Socket);

  const bridging = stream as Bridging;
  bridging[BRIDGED_REQ] = req;
  bridging[BRIDGED_RES] = res as Bridged;
  bridging[BRIDGED_SOCKET] = socket;
  bridging[ANSWERED] = false;
  if (bodiless) {
    // Nothing to read: the stream's own readable side is left alone, so node:http2 keeps
    // it until our write completes instead of destroying it under the write.
    req.complete = true;
    req.push(null);
  } else {
    stream.on('data', onStreamData);
    stream.once('end', onStreamEnd);
  }
  stream.once('close', onStreamClose);
  res.once('finish', onResponseFinish);
  if (headers.expect === '100-continue') res.writeContinue();
  watch?.(req, res);
  handle(req, res);
}
