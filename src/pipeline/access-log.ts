/**
 * Stage: one access-log line per request, written when the response closes
 * (finished or aborted). Body bytes are counted at res.write/res.end so chunked
 * responses report their real size (Apache's %b), whatever the interface.
 */
import type { ServerResponse } from 'node:http';
import { formatAccess } from '../logging/access-format.js';
import type { Log } from '../logging/log.js';
import type { RequestContext, Stage } from './context.js';

const BYTES = Symbol('tsgi.bodyBytes');
type CountedResponse = ServerResponse & { [BYTES]: number };

function byteLength(chunk: unknown, encoding?: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, encoding as BufferEncoding | undefined);
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}

function countBytes(res: CountedResponse): void {
  res[BYTES] = 0;
  const write = res.write;
  const end = res.end;
  res.write = function (this: CountedResponse, chunk: unknown, ...rest: unknown[]) {
    this[BYTES] += byteLength(chunk, rest[0]);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as CountedResponse['write'];
  res.end = function (this: CountedResponse, chunk?: unknown, ...rest: unknown[]) {
    if (typeof chunk !== 'function') this[BYTES] += byteLength(chunk, rest[0]);
    return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as CountedResponse['end'];
}

function requestLine(ctx: RequestContext): string {
  return `${ctx.req.method} ${ctx.req.url} HTTP/${ctx.req.httpVersion}`;
}

export function accessLogStage(format: 'common' | 'combined', log: Log): Stage {
  return (ctx, next) => {
    const res = ctx.res as CountedResponse;
    countBytes(res);
    // Taken now: the node interface (like Express routers) rewrites req.url below the mount point.
    const line = requestLine(ctx);
    res.once('close', () => {
      const { req } = ctx;
      const sent = req.method === 'HEAD' ? 0 : res[BYTES];
      log.access(
        formatAccess(format, {
          remoteAddr: req.socket.remoteAddress ?? '-',
          user: ctx.remoteUser,
          timeMs: ctx.startUs / 1000,
          requestLine: line,
          status: res.statusCode,
          bytes: sent,
          referer: req.headers.referer,
          userAgent: req.headers['user-agent'],
        }),
      );
    });
    next(ctx);
  };
}
