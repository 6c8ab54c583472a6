/**
 * An upgrade request (a WebSocket) through a proxy mount: the head is sent
 * upstream over a new connection, and from then on bytes are passed both ways
 * untouched, the upstream's `101 Switching Protocols` (or refusal) included.
 * Down: 502; no answer within --proxy-timeout: 504. At a draining worker's
 * deadline (worker/open-upgrades.ts) a WebSocket tunnel is closed as the
 * server's own WebSockets are: a 1001 "going away" close frame to the client
 * (and one to the upstream), each put between two frames, never inside one;
 * any other tunnel is cut.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { CLOSE_UPGRADE, takeOver } from '../adapters/upgrade.js';
import type { RequestContext } from '../pipeline/context.js';
import { sendError } from '../pipeline/error-response.js';
import { upstreamHeaders } from './headers.js';
import type { ForwardOptions } from './forward.js';
import { closeFrame, FrameBoundary } from './ws-frames.js';

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
  if (isWebSocket(ctx)) closePolitely(client, upstream, early);
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

function isWebSocket(ctx: RequestContext): boolean {
  const upgrade = ctx.req.headers.upgrade;
  return typeof upgrade === 'string' && upgrade.toLowerCase() === 'websocket';
}

/**
 * Gives the client socket the closer the drain calls (CLOSE_UPGRADE): both
 * directions stop being passed through once the frame under way has ended, then
 * the client gets an unmasked close frame and the upstream a masked one (it is
 * the server, we its client), and both connections are ended. Before the
 * upstream has accepted the WebSocket (101), or if a frame never ends, the drain
 * cuts the connection as before.
 */
function closePolitely(client: Duplex, upstream: Duplex, early: Buffer): void {
  const down = new FrameBoundary(true);
  const up = new FrameBoundary(false);
  if (early.length > 0) up.feed(early);
  const follow = (boundary: FrameBoundary) => (chunk: Buffer) => boundary.feed(chunk);
  const followDown = follow(down);
  const followUp = follow(up);
  upstream.on('data', followDown);
  client.on('data', followUp);
  (client as unknown as Record<symbol, (code: number) => void>)[CLOSE_UPGRADE] = (code) => {
    if (down.status !== 101) return void client.destroy();
    upstream.off('data', followDown);
    client.off('data', followUp);
    finish(upstream, client, down, closeFrame(code, 'server going away', false));
    finish(client, upstream, up, closeFrame(code, 'server going away', true));
  };
}

/** Stops passing `from` to `to` at the next frame boundary, then writes `last` to `to` and ends it. */
function finish(from: Duplex, to: Duplex, boundary: FrameBoundary, last: Buffer): void {
  from.unpipe(to);
  const close = () => {
    from.off('data', rest);
    from.resume(); // whatever else comes (a close frame in answer) is read and dropped
    if (to.writable) to.end(last);
  };
  const rest = (chunk: Buffer) => {
    const n = boundary.untilBoundary(chunk);
    if (n > 0 && to.writable) to.write(chunk.subarray(0, n));
    if (boundary.atBoundary) close();
  };
  if (boundary.atBoundary) return close();
  from.on('data', rest);
  from.resume();
}
