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
import { compileLogFormat, type AccessFacts } from '../logging/log-format.js';
import { serverNameFromHost } from '../tsgi/environ.js';
import { clientAddress } from './client-address.js';
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

function requestLine(ctx: RequestContext): string {
  // The node interface (like Express routers) rewrites req.url below the mount point.
  const req = ctx.req as RequestContext['req'] & { originalUrl?: string };
  return `${req.method} ${req.originalUrl ?? req.url} HTTP/${req.httpVersion}`;
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

function connectionState(res: ServerResponse, protocol: string): '+' | '-' | 'X' {
  if (!res.writableFinished) return 'X';
  const connection = sentHeader(res, 'Connection');
  const closed = connection ? /close/i.test(connection) : protocol === 'HTTP/1.0';
  return closed ? '-' : '+';
}

/** Everything a custom LogFormat may ask for; built only for custom formats. */
function facts(res: Logged, ctx: RequestContext, serverName: string): AccessFacts {
  const req = ctx.req as RequestContext['req'] & { originalUrl?: string };
  const socket = req.socket;
  const protocol = `HTTP/${req.httpVersion}`;
  return {
    remoteAddr: clientAddress(socket.remoteAddress) ?? '-',
    remotePort: socket.remotePort,
    localAddr: clientAddress(socket.localAddress) ?? '-',
    localPort: socket.localPort,
    user: ctx.remoteUser,
    startMs: ctx.startUs / 1000,
    durationUs: (performance.now() - ctx.startMono) * 1000,
    method: req.method ?? '-',
    target: req.originalUrl ?? req.url ?? '/',
    protocol,
    status: res.statusCode,
    bytes: req.method === 'HEAD' ? 0 : res[BYTES]!,
    pid: process.pid,
    requestId: ctx.id,
    serverName,
    requestedName: serverNameFromHost(req.headers.host),
    connection: connectionState(res, protocol),
    requestHeader: (name) => {
      const value = req.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    responseHeader: (name) => sentHeader(res, name),
  };
}

/**
 * `common` and `combined` keep their own formatter: they are what most servers
 * run, and it builds no closures per request (the benchmark's access-log
 * target). Any other format is compiled once (logging/log-format.ts).
 */
function lineWriter(format: string, serverName: string): (res: Logged, ctx: RequestContext) => string {
  if (format === 'common' || format === 'combined') {
    const combined = format === 'combined';
    return (res, ctx) => {
      const { req } = ctx;
      return formatAccess(format, {
        remoteAddr: clientAddress(req.socket.remoteAddress) ?? '-',
        user: ctx.remoteUser,
        timeMs: ctx.startUs / 1000,
        requestLine: requestLine(ctx),
        status: res.statusCode,
        bytes: req.method === 'HEAD' ? 0 : res[BYTES]!,
        // Only `combined` shows these; reading req.headers makes Node build it.
        referer: combined ? req.headers.referer : undefined,
        userAgent: combined ? req.headers['user-agent'] : undefined,
      });
    };
  }
  const compiled = compileLogFormat(format);
  return (res, ctx) => compiled(facts(res, ctx, serverName));
}

export function accessLogStage(format: string, serverName: string, log: Log): Stage {
  countBodyBytes();
  const write = lineWriter(format, serverName);
  const custom = format !== 'common' && format !== 'combined';
  // Shared by every response ('close' calls it with `this` = the response).
  const logLine = function (this: Logged) {
    log.access(write(this, this[CONTEXT]!));
  };
  return (ctx, next) => {
    const res = ctx.res as Logged;
    res[BYTES] = 0;
    res[CONTEXT] = ctx;
    // Read now: Node caches the peer address, which is gone once the socket closes.
    void ctx.req.socket.remoteAddress;
    if (custom) void ctx.req.socket.localAddress; // %A, %p: the same holds for our own end
    res.on('close', logLine);
    next(ctx);
  };
}
