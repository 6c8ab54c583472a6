/**
 * Stage: one access-log line per request, written when the response closes
 * (finished or aborted). Body bytes are counted at res.write/res.end so chunked
 * responses report their real size (Apache's %b), whatever the interface.
 *
 * Counting wraps ServerResponse.prototype's write and end once per process
 * rather than each response's own methods: per-response wrappers cost two
 * closures and a hidden-class change on every response (measured at ~15% of
 * hello-world throughput). Frameworks that swap a response's prototype (Express)
 * keep http.ServerResponse.prototype in the chain, so they are counted too.
 */
import { ServerResponse } from 'node:http';
import { formatAccess } from '../logging/access-format.js';
import { accessJson } from '../logging/json-format.js';
import { compileLogFormat, type AccessFacts } from '../logging/log-format.js';
import { peerAddress } from '../net/proxy-protocol.js';
import { absoluteForm, clientAddress, requestClient, requestHost, requestTarget, serverNameFromHost } from './request-view.js';
import type { Log } from '../logging/log.js';
import type { RequestContext, Stage } from './context.js';

const BYTES = Symbol('tsgi.bodyBytes');
const CONTEXT = Symbol('tsgi.accessContext');

interface Logged extends ServerResponse {
  [BYTES]?: number;
  [CONTEXT]?: RequestContext;
}

type Write = (this: Logged, chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;
type End = (this: Logged, chunk?: unknown, encoding?: unknown, cb?: unknown) => ServerResponse;

function byteLength(chunk: unknown, encoding?: unknown): number {
  if (typeof chunk === 'string') {
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  }
  return chunk instanceof Uint8Array ? chunk.byteLength : 0;
}

let counting = false;

function countBodyBytes(): void {
  if (counting) return;
  counting = true;
  const proto = ServerResponse.prototype as unknown as { write: Write; end: End };
  const write = proto.write;
  const end = proto.end;
  proto.write = function (chunk, encoding, cb) {
    if (this[BYTES] !== undefined) this[BYTES] += byteLength(chunk, encoding);
    return write.call(this, chunk, encoding, cb);
  };
  proto.end = function (chunk, encoding, cb) {
    if (this[BYTES] !== undefined && typeof chunk !== 'function') this[BYTES] += byteLength(chunk, encoding);
    return end.call(this, chunk, encoding, cb);
  };
}

/** The method the client sent: HEAD, when --map-head-to-get gave the app GET. */
function clientMethod(ctx: RequestContext): string | undefined {
  return ctx.clientMethod ?? ctx.req.method;
}

function requestLine(ctx: RequestContext): string {
  const { req } = ctx;
  return `${clientMethod(ctx)} ${requestTarget(req)} HTTP/${req.httpVersion}`;
}

/** A response header as sent, including those writeHead() was given as an array (not kept for getHeader()). */
function sentHeader(res: ServerResponse, name: string): string | undefined {
  const value = res.getHeader(name);
  if (value !== undefined) return Array.isArray(value) ? value.join(', ') : String(value);
  const head = (res as { _header?: string | null })._header;
  if (!head) return undefined;
  const prefix = name.toLowerCase() + ':';
  const lines = head.split('\r\n').filter((line) => line.toLowerCase().startsWith(prefix));
  return lines.length ? lines.map((line) => line.slice(prefix.length).trim()).join(', ') : undefined;
}

/**
 * What a custom LogFormat reads, for one finished response. Getters, so a
 * format pays only for the directives it uses (%V builds req.headers, %X
 * scans the sent header block), and one object per line, no closures.
 */
class ResponseFacts implements AccessFacts {
  private readonly req: RequestContext['req'];
  private readonly socket: RequestContext['req']['socket'];

  constructor(
    private readonly res: Logged,
    private readonly ctx: RequestContext,
    readonly serverName: string,
  ) {
    this.req = ctx.req;
    this.socket = ctx.req.socket;
  }

  get remoteAddr() { return requestClient(this.ctx) ?? '-'; }
  get peerAddr() { return peerAddress(this.socket) ?? '-'; }
  get remotePort() { return this.socket.remotePort; }
  get localAddr() { return clientAddress(this.socket.localAddress) ?? '-'; }
  get localPort() { return this.socket.localPort; }
  get user() { return this.ctx.remoteUser; }
  get startMs() { return this.ctx.startUs / 1000; }
  get durationUs() { return (performance.now() - this.ctx.startMono) * 1000; }
  get method() { return clientMethod(this.ctx) ?? '-'; }
  get target() {
    const target = requestTarget(this.req);
    return absoluteForm(target)?.rest ?? target;
  }
  get protocol() { return `HTTP/${this.req.httpVersion}`; }
  get requestLine() { return requestLine(this.ctx); }
  get status() { return this.res.statusCode; }
  get bytes() { return clientMethod(this.ctx) === 'HEAD' ? 0 : this.res[BYTES]!; }
  get pid() { return process.pid; }
  get requestId() { return this.ctx.id; }
  get requestedName() { return serverNameFromHost(requestHost(requestTarget(this.req), this.req.headers.host)); }

  get connection(): '+' | '-' | 'X' {
    if (!this.res.writableFinished) return 'X';
    if (this.req.httpVersionMajor === 2) return '+'; // the session goes on; its streams have no Connection header
    const connection = sentHeader(this.res, 'Connection');
    const closed = connection ? /close/i.test(connection) : this.req.httpVersion === '1.0';
    return closed ? '-' : '+';
  }

  requestHeader(name: string): string | undefined {
    const value = this.req.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  responseHeader(name: string): string | undefined {
    return sentHeader(this.res, name);
  }
}

type LineWriter = (res: Logged, ctx: RequestContext) => string;

/**
 * `common` and `combined` keep their own formatter: they are what most servers
 * run, and it builds one small entry per request (the benchmark's access-log
 * target). Any other format is compiled once (logging/log-format.ts).
 */
function namedWriter(format: 'common' | 'combined'): LineWriter {
  const combined = format === 'combined';
  return (res, ctx) => {
    const { req } = ctx;
    return formatAccess(format, {
      remoteAddr: requestClient(ctx) ?? '-',
      user: ctx.remoteUser,
      timeMs: ctx.startUs / 1000,
      requestLine: requestLine(ctx),
      status: res.statusCode,
      bytes: clientMethod(ctx) === 'HEAD' ? 0 : res[BYTES]!,
      // Only `combined` shows these; reading req.headers makes Node build it.
      referer: combined ? req.headers.referer : undefined,
      userAgent: combined ? req.headers['user-agent'] : undefined,
    });
  };
}

function customWriter(format: string, serverName: string): LineWriter {
  const compiled = compileLogFormat(format);
  return (res, ctx) => compiled(new ResponseFacts(res, ctx, serverName));
}

function jsonWriter(serverName: string): LineWriter {
  return (res, ctx) => accessJson(new ResponseFacts(res, ctx, serverName));
}

function lineWriter(format: string, serverName: string, json: boolean): LineWriter {
  if (json) return jsonWriter(serverName);
  return format === 'common' || format === 'combined' ? namedWriter(format) : customWriter(format, serverName);
}

/** `logFormat` json (--log-format) writes JSON lines whatever `format` says. */
export function accessLogStage(format: string, serverName: string, log: Log, logFormat = 'text'): Stage {
  countBodyBytes();
  const json = logFormat === 'json';
  const named = !json && (format === 'common' || format === 'combined');
  const write = lineWriter(format, serverName, json);
  // Shared by every response ('close' calls it with `this` = the response).
  const logLine = function (this: Logged) {
    log.access(write(this, this[CONTEXT]!));
  };
  return (ctx, next) => {
    const res = ctx.res as Logged;
    res[BYTES] = 0;
    res[CONTEXT] = ctx;
    // Read now: Node caches the peer address, which is gone once the socket closes
    // (and, for %A/%p, our own end's: a getsockname the named formats need not pay).
    void ctx.req.socket.remoteAddress;
    if (!named) void ctx.req.socket.localAddress;
    res.on('close', logLine);
    next(ctx);
  };
}
