/**
 * --header-timeout, --body-timeout and --socket-timeout on HTTP/2, with the
 * meanings they have on HTTP/1.1 (slow-clients.ts, connection-settings.ts),
 * applied where HTTP/2 puts them: a stream is one request, the session the
 * connection. What ends a request ends its stream (RST_STREAM); the session
 * and its other streams go on.
 *
 * - Head: node:http2 hands over a stream only once its whole header block has
 *   arrived, so the time a head takes is seen on the session: while it has no
 *   open stream, the next stream must arrive within the timeout (extended per
 *   --header-min-rate bytes read), counted from the session's start, and after
 *   a stream from the first bytes read once the session was idle (until then
 *   the keep-alive timeout applies, as on HTTP/1.1). Out of time the session is
 *   closed with a GOAWAY naming the last stream it served (HTTP/2 has no stream
 *   to carry a 408). A header block trickled while other streams of the same
 *   session are open is bounded by node:http2's header size limits, not by time.
 * - Body: per stream, while the server waits for the client: not while the
 *   stream is paused because the body already read fills the buffers of an
 *   application that has not read it. Out of time, as on HTTP/1.1: the reads
 *   fail with TSGI_BODY_TIMEOUT, the client gets 408 if no response has started,
 *   and the stream (not the connection) is closed.
 * - Socket: per stream, node:http2's stream timer (reset by every frame read or
 *   written on the stream); when it fires the HTTP/1.1 rule decides
 *   (ConnectionSettings#onSocketTimeout) and "close the connection" resets the stream.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import http2, { type Http2Session, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { RequestBodyError } from '../errors.js';
import type { Log } from '../logging/log.js';
import { bodyFailure, failRequestBody } from '../pipeline/body-failure.js';
import { contextOf } from '../pipeline/context.js';
import { clientAddress } from '../pipeline/request-view.js';
import { allowance, type ReadTimeouts } from './slow-clients.js';

const { NGHTTP2_NO_ERROR } = http2.constants;
/** node:http2 writes a submitted GOAWAY on a later turn: the session is destroyed once it has left. */
const GOAWAY_FLUSH_MS = 100;

/** What the bridge gives a stream's request: its StreamSocket, which counts the body bytes read. */
interface StreamRequest extends IncomingMessage {
  socket: Socket & { bytesRead: number };
}

/** Decides a stream whose --socket-timeout fired (the HTTP/1.1 rule); destroying the socket resets the stream. */
export type OnSocketTimeout = (socket: Socket, req: IncomingMessage | undefined, res: ServerResponse | undefined) => void;

interface TrackedStream {
  readonly stream: ServerHttp2Stream;
  readonly req: StreamRequest;
  /** Time counted against the body (ms), and the body bytes read by its start. */
  elapsed: number;
}

interface TrackedSession {
  readonly session: Http2Session;
  readonly socket: Socket;
  readonly streams: Set<TrackedStream>;
  /** When the head being waited for started (ms); -1: not waiting (streams open, or idle). */
  headStart: number;
  headBytes: number;
  /** Bytes read when the session was first seen idle; -1: not seen idle yet. */
  idleBytes: number;
  /** The id of the last stream the session handed over (0: none). */
  lastStream: number;
}

export class Http2Timeouts {
  private readonly sessions = new Map<Http2Session, TrackedSession>();
  private timer: NodeJS.Timeout | undefined;
  private readonly sweepMs: number;
  private lastSweep = 0;

  constructor(
    private readonly limits: ReadTimeouts,
    /** ms; 0: none. */
    private readonly socketTimeoutMs: number,
    private readonly onSocketTimeout: OnSocketTimeout,
    private readonly log: Log,
  ) {
    const shortest = Math.min(...[limits.headerTimeout, limits.bodyTimeout].filter((t) => t > 0));
    this.sweepMs = Math.min(1000, Math.max(50, (shortest * 1000) / 4));
  }

  private get swept(): boolean {
    return this.limits.headerTimeout > 0 || this.limits.bodyTimeout > 0;
  }

  /** A new session on `socket` (TLS or plain). */
  watchSession(session: Http2Session, socket: Socket): void {
    if (!this.swept) return;
    const t: TrackedSession = {
      session, socket, streams: new Set(), headStart: performance.now(), headBytes: socket.bytesRead, idleBytes: -1, lastStream: 0,
    };
    this.sessions.set(session, t);
    session.once('close', () => this.sessions.delete(session));
    session.on('stream', (stream: ServerHttp2Stream) => {
      t.headStart = -1;
      t.lastStream = Math.max(t.lastStream, stream.id ?? 0);
    });
    if (this.timer === undefined) {
      this.lastSweep = performance.now();
      this.timer = setInterval(() => this.sweep(), this.sweepMs).unref();
    }
  }

  /** A stream bridged to `req` and `res` (http2-bridge.ts). */
  watchStream(stream: ServerHttp2Stream, req: IncomingMessage, res: ServerResponse): void {
    if (this.socketTimeoutMs > 0) {
      stream.setTimeout(this.socketTimeoutMs);
      stream.on('timeout', () => this.streamTimedOut(req, res));
    }
    const session = stream.session && this.sessions.get(stream.session);
    if (session === undefined) return;
    const t: TrackedStream = { stream, req: req as StreamRequest, elapsed: 0 };
    session.streams.add(t);
    stream.once('close', () => {
      session.streams.delete(t);
      if (session.streams.size === 0) session.idleBytes = -1;
    });
  }

  /**
   * node:http2's stream timer fired. As the HTTP/1.1 server does with its socket:
   * the request (while its body is read) and the response hear it first; an
   * application listening there decides; otherwise the HTTP/1.1 rule does.
   */
  private streamTimedOut(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    if (socket === null) return;
    socket.emit('timeout');
    if (!req.complete) req.emit('timeout', socket);
    res.emit('timeout', socket);
    this.onSocketTimeout(socket, req, res.writableFinished ? undefined : res);
  }

  private sweep(): void {
    const now = performance.now();
    const dt = now - this.lastSweep;
    this.lastSweep = now;
    for (const t of this.sessions.values()) {
      if (t.session.closed || t.session.destroyed) {
        this.sessions.delete(t.session);
        continue;
      }
      if (t.streams.size === 0) this.checkHead(t, now);
      else for (const s of t.streams) this.checkBody(s, dt);
    }
    if (this.sessions.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private checkHead(t: TrackedSession, now: number): void {
    const { headerTimeout, headerMaxTimeout, headerMinRate } = this.limits;
    if (headerTimeout <= 0) return;
    const read = t.socket.bytesRead;
    if (t.headStart < 0) {
      // Idle after a stream: the keep-alive timeout applies until the next head's first bytes.
      if (t.idleBytes < 0) t.idleBytes = read;
      if (read === t.idleBytes) return;
      t.headStart = now;
      t.headBytes = t.idleBytes;
    }
    const bytes = read - t.headBytes;
    const allowed = allowance(headerTimeout, headerMaxTimeout, headerMinRate, bytes);
    if (now - t.headStart <= allowed) return;
    this.sessions.delete(t.session);
    this.log.info(
      `HTTP/2 session: no request head arrived within --header-timeout (${bytes} bytes in ${(allowed / 1000).toFixed(1)} s): closed (client ${clientAddress(t.socket.remoteAddress)})`,
    );
    // GOAWAY naming the last stream handed over: the one being trickled was not processed, and
    // the client may send it again (nghttp2's own GOAWAY would name it, being partly received).
    // With none handed over yet, node:http2 names nghttp2's (it reads 0 as "the default").
    try {
      t.session.goaway(NGHTTP2_NO_ERROR, t.lastStream);
    } catch {
      // destroyed meanwhile
    }
    setTimeout(() => t.session.destroy(), GOAWAY_FLUSH_MS).unref();
  }

  private checkBody(s: TrackedStream, dt: number): void {
    const { bodyTimeout, bodyMaxTimeout, bodyMinRate } = this.limits;
    const req = s.req;
    if (bodyTimeout <= 0 || req.complete || bodyFailure(req) !== undefined) return;
    // Paused: the server is not reading, because what it has is not read yet.
    if (!s.stream.isPaused()) s.elapsed += dt;
    const bytes = req.socket.bytesRead;
    const allowed = allowance(bodyTimeout, bodyMaxTimeout, bodyMinRate, bytes);
    if (s.elapsed <= allowed) return;
    const message = `The request body did not arrive in time (${bytes} bytes in ${(s.elapsed / 1000).toFixed(1)} s).`;
    const ctx = contextOf(req);
    if (ctx !== undefined) failRequestBody(ctx, new RequestBodyError('TSGI_BODY_TIMEOUT', message), this.log);
    else req.socket.destroy();
  }
}
