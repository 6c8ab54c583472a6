/**
 * Every setting the worker applies to its listening servers and their
 * connections, in one place, so each listener (http, https, http2) gets the
 * same: the timeouts a client may take (--header-timeout, --body-timeout and
 * their rates and maximums, --socket-timeout, --keep-alive-timeout), the
 * listen backlog, --max-connections, and the answers to what Node's parser
 * refuses. The request limits themselves (--limit-request-*) are a pipeline
 * stage (pipeline/request-limits.ts): they apply to requests, whatever carried them.
 *
 * Node's own request timers (headersTimeout, requestTimeout) are turned off:
 * slow-clients.ts replaces them with mod_wsgi-express's rate-based ones.
 */
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from '../config/schema.js';
import type { Log } from '../logging/log.js';
import { isClosing } from '../pipeline/connection.js';
import { clientAddress } from '../pipeline/request-view.js';
import { expectsContinue } from '../pipeline/expect-continue.js';
import { clientErrorHandler, onConnect } from './client-error.js';
import { ConnectionGate } from './connection-gate.js';
import { Http2Timeouts } from './http2-timeouts.js';
import { SlowClients } from './slow-clients.js';

interface HttpSocket extends Socket {
  parser?: { incoming?: IncomingMessage | null } | null;
  _httpMessage?: ServerResponse | null;
}

/**
 * Runs `judge` once what already waits in the socket's receive buffer has been read,
 * unless that brought bytes. A socket's timer is judged in libuv's timers phase, which
 * comes before the phase that reads: when the event loop was held up (a long
 * synchronous request, a GC pause, a loaded machine) past a keep-alive timeout, the
 * timer is due while the client's next request, sent in time, still waits unread, and
 * closing then makes the kernel reset it (the client sees ECONNRESET). setImmediate
 * runs after the next poll for I/O; bytes read meanwhile re-armed Node's timer.
 */
function afterWaitingReads(socket: Socket, judge: () => void): void {
  const read = socket.bytesRead;
  setImmediate(() => {
    if (!socket.destroyed && socket.bytesRead === read) judge();
  });
}

export class ConnectionSettings {
  private readonly slowClients: SlowClients;
  private readonly gate: ConnectionGate | undefined;
  private readonly keepAlive: boolean;
  /** ms; 0: none. */
  private readonly socketTimeoutMs: number;

  constructor(
    private readonly config: Config,
    private readonly log: Log,
  ) {
    this.slowClients = new SlowClients(config, log);
    this.gate = config.maxConnections === undefined
      ? undefined
      : new ConnectionGate(config.maxConnections, config.serverBacklog, log);
    this.keepAlive = config.keepAliveTimeout > 0;
    // A request paused at a debugger's breakpoint is not cut off (as --queue-timeout).
    this.socketTimeoutMs = config.debugMode ? 0 : config.socketTimeout * 1000;
  }

  /** Options for http.createServer / https.createServer. */
  serverOptions(): ServerOptions {
    return {
      // Replaced by --header-timeout and --body-timeout (slow-clients.ts).
      headersTimeout: 0,
      requestTimeout: 0,
      keepAliveTimeout: Math.round(this.config.keepAliveTimeout * 1000),
    };
  }

  /** The `listen()` backlog (--server-backlog). */
  get backlog(): number {
    return this.config.serverBacklog;
  }

  /**
   * Applies the settings to a server. `readFirst` installs what reads a
   * connection before HTTP does (the PROXY protocol preamble): it runs inside
   * --max-connections, so a connection waiting past the limit is not read at all.
   * `httpEvent` is the event whose socket carries HTTP: 'connection' for plain
   * HTTP, 'secureConnection' for HTTPS.
   */
  apply(server: Server, readFirst?: (server: Server) => void, httpEvent = 'connection'): void {
    // Node's default (2000) drops the headers past it without a word; --limit-request-fields
    // answers 431 instead, and Node's head size limit still bounds a request.
    server.maxHeadersCount = 0;
    server.timeout = this.socketTimeoutMs;
    server.on('timeout', (socket: HttpSocket) =>
      afterWaitingReads(socket, () => this.onSocketTimeout(socket, socket.parser?.incoming, socket._httpMessage)),
    );
    server.on('clientError', clientErrorHandler(this.log, this.config.limitRequestLine));
    server.on('connect', onConnect);
    // The pipeline sends `100 Continue` once the application is about to read (pipeline/expect-continue.ts).
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      expectsContinue(res);
      server.emit('request', req, res);
    });
    this.slowClients.watch(server, httpEvent);
    readFirst?.(server);
    // Last: the gate stands in front of every 'connection' listener added above and by Node.
    this.gate?.watch(server);
  }

  /**
   * First thing for each request: false when it must not be served, a request
   * parsed from a connection the server already answered for the last time.
   */
  accepts(req: IncomingMessage, res: ServerResponse): boolean {
    if (isClosing(req.socket)) {
      res.destroy();
      return false;
    }
    if (!this.keepAlive) res.shouldKeepAlive = false;
    this.slowClients.onRequest(req);
    return true;
  }

  /**
   * The same timeouts for the HTTP/2 engine's sessions and streams: the read
   * timeouts, and --socket-timeout decided by the rule below, where closing
   * the connection resets the stream.
   */
  http2Timeouts(): Http2Timeouts {
    return new Http2Timeouts(this.config, this.socketTimeoutMs, (socket, req, res) => this.onSocketTimeout(socket, req, res, 'HTTP/2 stream reset'), this.log);
  }

  /** The worker is draining: connections waiting past --max-connections are served (and closed after). */
  draining(): void {
    this.gate?.openAll();
  }

  /**
   * Node's socket timeout fired: nothing read or written for --socket-timeout
   * during a request, or the keep-alive timeout between requests. An app that
   * set its own (req.setTimeout, res.setTimeout) listens itself and decides.
   * A request waiting for a thread, or in the application before its response
   * starts, is left alone: that wait is --queue-timeout's (503) and
   * --request-timeout's (504), which answer it; the next write re-arms the timer.
   */
  private onSocketTimeout(
    socket: Socket,
    req: IncomingMessage | null | undefined,
    res: ServerResponse | null | undefined,
    outcome = 'connection closed',
  ): void {
    const reading = req != null && !req.complete;
    if ((res && res.listenerCount('timeout') > 0) || (reading && req.listenerCount('timeout') > 0)) return;
    if (res && !res.headersSent && !reading && !isClosing(socket)) return;
    if ((res || reading) && !isClosing(socket)) {
      const seconds = this.socketTimeoutMs / 1000;
      this.log.info(
        `nothing read or written for --socket-timeout ${seconds} s during a request: ${outcome} (client ${clientAddress(socket.remoteAddress)})`,
      );
    }
    socket.destroy();
  }
}
