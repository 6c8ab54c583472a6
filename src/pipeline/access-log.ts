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

export function accessLogStage(format: 'common' | 'combined', log: Log): Stage {
  countBodyBytes();
  const combined = format === 'combined';
  // Shared by every response ('close' calls it with `this` = the response).
  const logLine = function (this: Logged) {
    const ctx = this[CONTEXT]!;
    const { req } = ctx;
    log.access(
      formatAccess(format, {
        remoteAddr: clientAddress(req.socket.remoteAddress) ?? '-',
        user: ctx.remoteUser,
        timeMs: ctx.startUs / 1000,
        requestLine: requestLine(ctx),
        status: this.statusCode,
        bytes: req.method === 'HEAD' ? 0 : this[BYTES]!,
        // Only `combined` shows these; reading req.headers makes Node build it.
        referer: combined ? req.headers.referer : undefined,
        userAgent: combined ? req.headers['user-agent'] : undefined,
      }),
    );
  };
  return (ctx, next) => {
    const res = ctx.res as Logged;
    res[BYTES] = 0;
    res[CONTEXT] = ctx;
    // Read now: Node caches the peer address, which is gone once the socket closes.
    void ctx.req.socket.remoteAddress;
    res.on('close', logLine);
    next(ctx);
  };
}
