/**
 * The HTTP/2 engine: one node:http2 server that never listens itself. The
 * HTTPS listener hands it the connections whose ALPN chose h2, the plain
 * listener those that open with the HTTP/2 preface (h2c with prior
 * knowledge); each stream becomes a node:http request and response
 * (http2-bridge.ts), so the pipeline and the app cannot tell the protocols
 * apart except by req.httpVersion.
 *
 * Stopping a connection gracefully is HTTP/2's own (RFC 9113 6.8): a GOAWAY
 * naming the highest possible stream id tells the client to open no more
 * streams here, while the streams it may just have sent still count; after
 * one round trip (a PING and its answer), and a moment more, the final GOAWAY
 * names the last stream really received, and the session closes once those
 * streams are answered. A plain session.close() at once would refuse a stream
 * already on its way, which the client may not retry. The moment more is for
 * nghttp2 clients (curl, h2load, node:http2): they send a PING's answer ahead
 * of request HEADERS they had already queued, so the answer can arrive first.
 */
import type { IncomingHttpHeaders, Http2Session, ServerHttp2Stream } from 'node:http2';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Log } from '../logging/log.js';
import type { Http2Timeouts } from './http2-timeouts.js';
import { bridgeStream, ConnectionInfo, type RequestHandler } from './http2-bridge.js';

const { NGHTTP2_NO_ERROR } = http2.constants;
/** The largest stream id: "whatever you have sent so far still counts". */
const ANY_STREAM = 2 ** 31 - 1;
/** How long the graceful GOAWAY waits for its PING's answer before the final GOAWAY. */
const PING_WAIT_MS = 2000;
/** After the answer, how long streams the client had queued may still arrive. */
const LATE_STREAMS_MS = 500;

const INFO = Symbol('tsgi-express.connection');

type Session = Http2Session & { [INFO]?: ConnectionInfo };

export interface Http2EngineOptions {
  /** How long a session with no open stream is kept before it is closed gracefully (ms). */
  readonly idleTimeoutMs: () => number;
  /** --header-timeout, --body-timeout, --socket-timeout on sessions and streams. */
  readonly timeouts?: Http2Timeouts;
}

export class Http2Engine {
  private readonly server = http2.createServer({
    // Apache's H2MaxSessionStreams; Node's default is unlimited.
    settings: { maxConcurrentStreams: 100 },
  });
  private readonly sessions = new Set<Session>();
  private accepting: Socket | undefined;
  private draining = false;

  constructor(
    handle: RequestHandler,
    private readonly log: Log,
    private readonly options: Http2EngineOptions,
  ) {
    this.server.on('session', (session: Session) => this.track(session));
    this.server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw?: string[]) => {
      const info = (stream.session as Session | undefined)?.[INFO];
      if (info === undefined) return void stream.close();
      const timeouts = this.options.timeouts;
      const watch = timeouts && ((req: IncomingMessage, res: ServerResponse) => timeouts.watchStream(stream, req, res));
      bridgeStream(stream, headers, Array.isArray(raw) ? raw : undefined, info, handle, watch);
    });
    this.server.on('sessionError', (err: Error) => this.log.debug(`HTTP/2 session error: ${err.message}`));
  }

  /** Serves HTTP/2 on a connection (TLS with ALPN h2, or plain TCP that sent the preface). */
  accept(socket: Socket): void {
    this.accepting = socket;
    let session: Session | undefined;
    const onSession = (s: Session) => (session = s);
    this.server.once('session', onSession);
    try {
      this.server.emit('connection', socket);
    } finally {
      this.accepting = undefined;
      this.server.off('session', onSession);
    }
    // Accepted before the drain began, its handshake done after: told at once to go elsewhere.
    if (this.draining && session !== undefined) this.stopGracefully(session);
  }

  /** Open sessions, for tests of the drain and for status. */
  get size(): number {
    return this.sessions.size;
  }

  private track(session: Session): void {
    const socket = this.accepting;
    if (socket === undefined) return void session.destroy();
    session[INFO] = new ConnectionInfo(socket);
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    session.on('error', (err) => this.log.debug(`HTTP/2 session error: ${err.message}`));
    this.closeWhenIdle(session);
    this.options.timeouts?.watchSession(session, socket);
  }

  /** A session that has had no open stream for the idle timeout is closed gracefully. */
  private closeWhenIdle(session: Session): void {
    let timer: NodeJS.Timeout | undefined;
    let open = 0;
    const arm = () => {
      clearTimeout(timer);
      const ms = this.options.idleTimeoutMs();
      if (ms > 0) timer = setTimeout(() => this.stopGracefully(session), ms).unref();
    };
    session.on('stream', (stream: ServerHttp2Stream) => {
      open++;
      clearTimeout(timer);
      stream.once('close', () => --open === 0 && arm());
    });
    session.once('close', () => clearTimeout(timer));
    arm();
  }

  /** Graceful GOAWAY, a PING round trip, then the final GOAWAY; the session ends with its last stream. */
  stopGracefully(session: Session): void {
    if (session.closed || session.destroyed) return;
    try {
      session.goaway(NGHTTP2_NO_ERROR, ANY_STREAM);
    } catch {
      return void session.close();
    }
    // A client answers our GOAWAY with its own, and node:http2 closes a session when the
    // peer's GOAWAY arrives, refusing (REFUSED_STREAM) the streams the client still sends
    // after it: those it had queued. Until our final GOAWAY, they are served.
    session.close = function (this: Session, callback?: () => void) {
      if (typeof callback === 'function') this.once('close', callback);
    };
    const finalGoaway = () => {
      delete (session as { close?: unknown }).close; // node:http2's own again
      if (!session.closed && !session.destroyed) session.close();
    };
    let done = false;
    const close = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      setTimeout(finalGoaway, LATE_STREAMS_MS).unref();
    };
    const timer = setTimeout(close, PING_WAIT_MS);
    timer.unref();
    // The PING must follow the GOAWAY on the wire, so that its answer proves the client has
    // seen the GOAWAY: nghttp2 sends a queued PING ahead of a queued GOAWAY, so the PING is
    // submitted only once the GOAWAY has been written (node:http2 writes on the next turn).
    setImmediate(() => {
      if (done || session.destroyed) return close();
      try {
        if (!session.ping(close)) close();
      } catch {
        close();
      }
    });
  }

  /** Draining: every session stops taking streams; each closes once its open streams are answered. */
  drain(): void {
    this.draining = true;
    for (const session of this.sessions) this.stopGracefully(session);
  }

  /** The drain's deadline passed: whatever is still open goes. */
  destroyAll(): void {
    for (const session of this.sessions) session.destroy();
  }
}
