/**
 * --header-timeout and --body-timeout (mod_wsgi-express's RequestReadTimeout
 * `header=15-30,MinRate=500 body=15,MinRate=500`): how long a client may take
 * to send a request's head, and its body, extended by a second for every
 * min-rate bytes received, never past the maximum.
 *
 * One sweep per worker, a few times a second at most, looks at every
 * connection; a request only leaves a note on its connection as it is
 * dispatched (Node forgets it once it is answered). What a connection is doing
 * is read from Node's own state for it: its parser's current request (none
 * yet, its body still arriving, or complete), the response in flight, and the
 * bytes read from the socket.
 *
 * - Head: from the connection's start, or on a kept-alive connection from the
 *   first sweep that sees bytes of the next request (until then the keep-alive
 *   timeout applies). Out of time: 408 and close; a connection that sent
 *   nothing at all is closed without a word (a browser's unused preconnection).
 * - Body: while the server waits for the client, i.e. not while the socket is
 *   paused because the body already read fills the buffers of an application that
 *   has not read it yet. Out of time the request's body fails (TSGI_BODY_TIMEOUT):
 *   the application's reads reject, 408 if no response started, the connection closes.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { RequestBodyError } from '../errors.js';
import { preambleBytes } from '../net/proxy-protocol.js';
import type { Log } from '../logging/log.js';
import { bodyFailure, failRequestBody, logRefusal } from '../pipeline/body-failure.js';
import { isClosing } from '../pipeline/connection.js';
import { contextOf } from '../pipeline/context.js';
import { endWithAnswer } from '../pipeline/raw-answer.js';

export interface ReadTimeouts {
  /** Seconds; 0: none. */
  readonly headerTimeout: number;
  readonly headerMaxTimeout: number;
  /** Bytes per second; 0: no extension. */
  readonly headerMinRate: number;
  readonly bodyTimeout: number;
  readonly bodyMaxTimeout: number;
  readonly bodyMinRate: number;
}

/** The part of Node's per-connection state the sweep reads. */
interface HttpSocket extends Socket {
  parser?: { incoming?: IncomingMessage | null } | null;
  _httpMessage?: unknown;
}

const TRACKED = Symbol('tsgi-express.slow-clients');

interface Tracked {
  readonly socket: HttpSocket;
  /** The last request dispatched on the connection (Node clears the parser's once it is answered). */
  lastReq: IncomingMessage | null;
  /** When the head being waited for started (ms, performance.now()); -1: not waiting for a head. */
  headStart: number;
  headBytes: number;
  /** The last complete request seen with no response in flight, and the bytes read by then. */
  idleReq: IncomingMessage | null;
  idleBytes: number;
  /** The request whose body is being timed, the time counted against it and the bytes read when it started. */
  bodyReq: IncomingMessage | null;
  bodyElapsed: number;
  bodyBytes: number;
  lastSweep: number;
}

/** Allowed time in ms: the timeout, plus a second per `rate` bytes, capped at `max` (seconds; 0: none). */
export function allowance(timeout: number, max: number, rate: number, bytes: number): number {
  const extended = timeout + (rate > 0 ? bytes / rate : 0);
  return (max > 0 ? Math.min(extended, max) : extended) * 1000;
}

export class SlowClients {
  private readonly tracked = new Set<Tracked>();
  private timer: NodeJS.Timeout | undefined;
  private readonly sweepMs: number;

  constructor(
    private readonly limits: ReadTimeouts,
    private readonly log: Log,
  ) {
    const shortest = Math.min(...[limits.headerTimeout, limits.bodyTimeout].filter((t) => t > 0));
    // A quarter of the shortest timeout, between 50 ms and 1 s: precise enough for timeouts in seconds.
    this.sweepMs = Math.min(1000, Math.max(50, (shortest * 1000) / 4));
  }

  get enabled(): boolean {
    return this.limits.headerTimeout > 0 || this.limits.bodyTimeout > 0;
  }

  /**
   * Times the connections `server` takes. `event`: the one whose socket carries
   * HTTP, 'connection' for plain HTTP ('secureConnection' for TLS, where the TLS
   * handshake has its own timeout).
   */
  watch(server: Server, event = 'connection'): void {
    if (!this.enabled) return;
    server.on(event, (socket: Socket) => this.add(socket as HttpSocket));
  }

  private add(socket: HttpSocket): void {
    const now = performance.now();
    const t: Tracked = {
      // From the connection's first byte after any PROXY preamble: bytes read (and put back) before the
      // protocol took the socket are the head's too.
      socket, lastReq: null, headStart: now, headBytes: preambleBytes(socket), idleReq: null, idleBytes: 0,
      bodyReq: null, bodyElapsed: 0, bodyBytes: 0, lastSweep: now,
    };
    this.tracked.add(t);
    (socket as HttpSocket & { [TRACKED]?: Tracked })[TRACKED] = t;
    socket.once('close', () => this.tracked.delete(t));
    this.timer ??= setInterval(() => this.sweep(), this.sweepMs).unref();
  }

  /** Each request as it is dispatched: tells a kept-alive connection from one that never had a request. */
  onRequest(req: IncomingMessage): void {
    const t = (req.socket as HttpSocket & { [TRACKED]?: Tracked } | null)?.[TRACKED];
    if (t !== undefined) t.lastReq = req;
  }

  private sweep(): void {
    const now = performance.now();
    for (const t of this.tracked) {
      const since = t.lastSweep;
      t.lastSweep = now;
      if (!this.check(t, now, now - since)) this.tracked.delete(t);
    }
    if (this.tracked.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** One connection's state; false once it no longer needs watching. */
  private check(t: Tracked, now: number, dt: number): boolean {
    const socket = t.socket;
    // No parser: closed, or upgraded (WebSocket) and no longer HTTP. Closing: our last word is said.
    if (!socket.parser || socket.destroyed || isClosing(socket)) return false;
    // Node clears the parser's request once it is answered and read: then it is the last one dispatched.
    const req = socket.parser.incoming ?? t.lastReq;
    if (req === null) return this.checkHead(t, now);
    if (!req.complete) return this.checkBody(t, req, dt);
    if (socket._httpMessage) {
      // The application has the request: nothing is read from the client now.
      t.idleReq = null;
      return true;
    }
    if (t.idleReq !== req) {
      t.idleReq = req;
      t.idleBytes = socket.bytesRead;
      t.headStart = -1;
      return true;
    }
    if (t.headStart < 0) {
      if (socket.bytesRead === t.idleBytes) return true; // idle: the keep-alive timeout applies
      t.headStart = now;
      t.headBytes = t.idleBytes;
    }
    return this.checkHead(t, now);
  }

  private checkHead(t: Tracked, now: number): boolean {
    const { headerTimeout, headerMaxTimeout, headerMinRate } = this.limits;
    if (headerTimeout <= 0) return true;
    const bytes = t.socket.bytesRead - t.headBytes;
    const allowed = allowance(headerTimeout, headerMaxTimeout, headerMinRate, bytes);
    if (now - t.headStart <= allowed) return true;
    if (bytes === 0) {
      this.log.debug(`connection from ${t.socket.remoteAddress} sent nothing within --header-timeout: closed`);
      t.socket.destroy();
      return false;
    }
    const seconds = (allowed / 1000).toFixed(1);
    const detail = `The request head did not arrive in time (${bytes} bytes in ${seconds} s).`;
    logRefusal(this.log, 408, detail, t.socket.remoteAddress);
    endWithAnswer(t.socket, { status: 408, detail });
    return false;
  }

  private checkBody(t: Tracked, req: IncomingMessage, dt: number): boolean {
    const { bodyTimeout, bodyMaxTimeout, bodyMinRate } = this.limits;
    if (bodyTimeout <= 0 || bodyFailure(req) !== undefined) return true;
    const socket = t.socket;
    if (t.bodyReq !== req) {
      t.bodyReq = req;
      t.bodyElapsed = 0;
      t.bodyBytes = socket.bytesRead;
      return true;
    }
    // Paused: the server is not reading, because what it has is not read yet.
    if (!socket.isPaused()) t.bodyElapsed += dt;
    const bytes = socket.bytesRead - t.bodyBytes;
    const allowed = allowance(bodyTimeout, bodyMaxTimeout, bodyMinRate, bytes);
    if (t.bodyElapsed <= allowed) return true;
    const ctx = contextOf(req);
    const message = `The request body did not arrive in time (${bytes} bytes in ${(t.bodyElapsed / 1000).toFixed(1)} s).`;
    if (ctx !== undefined) failRequestBody(ctx, new RequestBodyError('TSGI_BODY_TIMEOUT', message), this.log);
    else socket.destroy();
    return true;
  }
}
