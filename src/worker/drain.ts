/**
 * Graceful stop of one worker: stop accepting new connections, answer each kept-
 * alive connection's next request with `Connection: close` rather than dropping
 * it, let in-flight requests finish, and exit once every connection is closed or
 * the deadline passes.
 */
import net from 'node:net';
import { ServerResponse, type Server } from 'node:http';
import type { Http2Engine } from './http2-engine.js';
import { GOING_AWAY, type OpenUpgrades } from './open-upgrades.js';

/**
 * How long closing WebSockets get for their closing handshake: the master kills a
 * stopping worker 500 ms after its deadline (2 s on a reload), and the log lines of
 * those connections must leave first.
 */
const UPGRADE_CLOSE_MS = 300;

export interface DrainState {
  draining: boolean;
}

/**
 * Once the worker drains, every response that has not yet sent its headers
 * says `Connection: close`: those in flight, queued or still to arrive. Checked
 * when the headers are written (Node's implicit headers go through writeHead
 * too) rather than by keeping a registry of in-flight responses: a Set of them
 * churns on every request, and its discarded tables, promoted to the old
 * generation, kept each request's objects alive until the next full GC (the
 * worker's old space grew ~4 MB/s under load). On ServerResponse.prototype,
 * once per process, because Express and others give `res` their own prototype
 * on top of it; the whole process is draining, whichever server a response is for.
 */
export function closeConnectionsWhenDraining(state: DrainState): void {
  const writeHead = ServerResponse.prototype.writeHead;
  ServerResponse.prototype.writeHead = function (this: ServerResponse) {
    if (state.draining) this.shouldKeepAlive = false;
    return Reflect.apply(writeHead, this, arguments) as ServerResponse;
  } as typeof writeHead;
}

/**
 * Stops this worker taking connections, once, whether it drains or crashes.
 * node:cluster's primary keeps a connection it handed to a worker open until
 * that worker answers the hand-off, so a worker that exits with one still in its
 * IPC queue leaves that client hanging. Closing the listener takes the worker out
 * of the rotation, and a hand-off that reaches a closed listener goes back to the
 * master for another worker. The master acks `listener-closed` after every
 * earlier hand-off (the channel is ordered): after the ack, none can still come.
 */
export class ListenerRelease {
  private closing = false;
  private resolveReleased!: () => void;
  private readonly released = new Promise<void>((resolve) => (this.resolveReleased = resolve));

  /** `servers`: one per listener (worker/server.ts), all closed together. */
  constructor(
    private readonly servers: readonly net.Server[],
    private readonly notifyMaster: () => void,
  ) {}

  /**
   * Resolves once the master can no longer hand this worker a connection;
   * `onConnectionsClosed` runs once every listener's last connection has closed.
   */
  close(onConnectionsClosed?: () => void): Promise<void> {
    if (onConnectionsClosed) {
      let open = this.servers.length;
      for (const server of this.servers) server.once('close', () => --open === 0 && onConnectionsClosed());
    }
    if (!this.closing) {
      this.closing = true;
      // http.Server#close() would also drop idle keep-alive connections (Node >= 19);
      // net.Server#close() only stops accepting, which is what a rolling reload needs.
      // Each server emits 'close' once the last connection it accepted has closed.
      for (const server of this.servers) net.Server.prototype.close.call(server);
      this.notifyMaster();
    }
    return this.released;
  }

  /** The master's `listener-closed-ack`. */
  acked(): void {
    this.resolveReleased();
  }
}

export interface DrainOptions {
  /** The HTTP/1.1 engine: it knows which of its connections are idle, on every listener. */
  readonly http1: Server;
  /** The HTTP/2 engine: its sessions stop with GOAWAY, each closing once its open streams are answered. */
  readonly http2: Http2Engine | undefined;
  /** Plain connections that have not sent a byte yet (--http2 waits for one to choose): nothing to finish. */
  readonly deciding: ReadonlySet<net.Socket>;
  /** Told when the drain starts (connections waiting past --max-connections are let in). */
  readonly settings?: { draining(): void };
  readonly state: DrainState;
  readonly timeoutSeconds: number;
  /** On shutdown idle connections are closed at once; on reload they are left to expire. */
  readonly closeIdle: boolean;
  readonly listener: ListenerRelease;
  /** WebSockets and tunnels: left open until they close or the deadline, then closed with 1001. */
  readonly upgrades?: OpenUpgrades;
  readonly exit: () => void;
}

export function drain(opts: DrainOptions): void {
  const { http1, state } = opts;
  if (state.draining) return;
  state.draining = true;
  opts.settings?.draining();
  let exited = false;
  let listenerReleased = false;
  let closed = false;
  const finish = () => {
    if (exited) return;
    exited = true;
    clearInterval(poll);
    clearTimeout(deadline);
    http1.closeAllConnections();
    opts.http2?.destroyAll();
    for (const socket of opts.deciding) socket.destroy();
    const upgrades = opts.upgrades;
    if (upgrades === undefined || upgrades.size === 0) return opts.exit();
    void upgrades.closeAll(GOING_AWAY, UPGRADE_CLOSE_MS).then(opts.exit);
  };
  const released = opts.listener.close(() => {
    closed = true;
    if (listenerReleased) finish();
  });
  // HTTP/2's "Connection: close": every session is told to open no more streams, now.
  opts.http2?.drain();
  // On shutdown, close idle connections now and those mid-request once they are answered.
  if (opts.closeIdle) {
    http1.closeIdleConnections();
    for (const socket of opts.deciding) socket.destroy();
  }
  const poll = opts.closeIdle ? setInterval(() => http1.closeIdleConnections(), 50) : undefined;
  const deadline = setTimeout(finish, opts.timeoutSeconds * 1000);
  void released.then(() => {
    listenerReleased = true;
    if (closed) finish();
  });
}
