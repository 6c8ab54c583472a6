/**
 * Graceful stop of one worker: stop accepting new connections, answer each kept-
 * alive connection's next request with `Connection: close` rather than dropping
 * it, let in-flight requests finish, and exit once every connection is closed or
 * the deadline passes.
 */
import net from 'node:net';
import type { Server } from 'node:http';
import type { Admission } from '../pipeline/admission.js';

export interface DrainState {
  draining: boolean;
}

export interface DrainOptions {
  readonly server: Server;
  readonly sockets: Set<net.Socket>;
  readonly admission: Admission;
  readonly state: DrainState;
  readonly timeoutSeconds: number;
  /** On shutdown idle connections are closed at once; on reload they are left to expire. */
  readonly closeIdle: boolean;
  /** Resolves once the master can no longer hand this worker a connection. */
  readonly listenerReleased: Promise<void>;
  readonly exit: () => void;
}

export function drain(opts: DrainOptions): void {
  const { server, sockets, admission, state } = opts;
  if (state.draining) return;
  state.draining = true;
  // http.Server#close() would also drop idle keep-alive connections (Node >= 19);
  // net.Server#close() only stops accepting, which is what a rolling reload needs.
  net.Server.prototype.close.call(server);
  for (const res of admission.inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
  if (opts.closeIdle) server.closeIdleConnections();
  let exited = false;
  let released = false;
  const finish = () => {
    if (exited) return;
    exited = true;
    clearInterval(poll);
    clearTimeout(deadline);
    for (const socket of sockets) socket.destroy();
    opts.exit();
  };
  const poll = setInterval(() => {
    if (opts.closeIdle) server.closeIdleConnections();
    if (released && sockets.size === 0) finish();
  }, 50);
  const deadline = setTimeout(finish, opts.timeoutSeconds * 1000);
  void opts.listenerReleased.then(() => {
    released = true;
    if (sockets.size === 0) finish();
  });
}
