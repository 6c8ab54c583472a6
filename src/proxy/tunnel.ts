/**
 * An upgrade request (a WebSocket) through a proxy mount: the head is sent
 * upstream over a new connection, and from then on bytes are passed both ways
 * untouched, the upstream's `101 Switching Protocols` (or refusal) included.
 * Down: 502; no answer within --proxy-timeout: 504. At a draining worker's
 * deadline the tunnel is cut (worker/open-upgrades.ts).
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { takeOver } from '../adapters/upgrade.js';
import type { RequestContext } from '../pipeline/context.js';
import { sendError } from '../pipeline/error-response.js';
import { upstreamHeaders } from './headers.js';
import type { ForwardOptions } from './forward.js';

function connect(opts: ForwardOptions): Duplex {
  const { upstream } = opts;
  if (upstream.socketPath !== undefined) return net.connect(upstream.socketPath);
  if (upstream.protocol === 'https:') {
    return tls.connect({ host: upstream.hostname, port: upstream.port, servername: net.isIP(upstream.hostname) ? undefined : upstream.hostname });
  }
  return net.connect({ host: upstream.hostname, port: upstream.port });
}

function head(ctx: RequestContext, opts: ForwardOptions): string {
  const headers = upstreamHeaders(ctx, opts, true);
  let text = `${ctx.req.method} ${opts.path} HTTP/1.1\r\n`;
  for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return text + '\r\n';
}

export function tunnel(ctx: RequestContext, opts: ForwardOptions): void {
  const { socket: client, head: early } = takeOver(ctx);
  const upstream = connect(opts);
  let answered = false;
  let failed = false;
  const fail = (status: 502 | 504, why: string) => {
    if (failed) return;
    failed = true;
    opts.log.error(`proxy: upgrade ${ctx.req.url} -> ${opts.upstream.origin}${opts.path}: ${status} (${why})`, ctx.id);
    upstream.destroy();
    if (!answered && !client.destroyed) sendError(ctx.res, status);
    else client.destroy();
  };
  const timer = opts.timeoutMs > 0 ? setTimeout(() => fail(504, 'no answer in time'), opts.timeoutMs) : undefined;
  upstream.once('error', (err) => fail(502, err.message));
  upstream.once('data', () => {
    answered = true;
    clearTimeout(timer);
  });
  upstream.write(head(ctx, opts));
  if (early.length > 0) upstream.write(early);
  upstream.pipe(client);
  client.pipe(upstream);
  client.on('error', () => upstream.destroy());
  client.once('close', () => {
    clearTimeout(timer);
    upstream.destroy();
  });
  upstream.once('close', () => {
    clearTimeout(timer);
    if (answered) client.end();
    else fail(502, 'the upstream closed the connection without answering');
  });
}
