/**
 * With one worker, the master owns the listening socket and lends it to each
 * worker it forks, as Apache does for mod_wsgi's daemon processes and gunicorn's
 * arbiter for its workers. When that worker dies the socket stays open in the
 * master, so new connections wait in the kernel's backlog for the replacement
 * instead of being refused: node:cluster closes a shared socket as soon as its
 * last worker leaves, and with one worker that is every crash.
 *
 * With two or more workers node:cluster's round-robin master accepts every
 * connection itself, and this is not used (see docs/architecture.md).
 */
import type { Worker } from 'node:cluster';
import { lookup } from 'node:dns/promises';
import { chmodSync, chownSync, rmSync } from 'node:fs';
import net from 'node:net';
import { getSystemErrorMap } from 'node:util';
import type { ListenerName, ListenerSpec } from '../config/listeners.js';
import type { ListenSocketMessage } from '../ipc/messages.js';

/** The parts of node's TCP handle (tcp_wrap) used here. */
interface TcpHandle {
  getsockname(out: { port?: number }): number;
  close(): void;
}

type CreateServerHandle = (address: string | null, port: number, addressType: number) => TcpHandle | number;

/**
 * node:net's bind-without-listen, the function node:cluster's master binds shared
 * sockets with (exported by node:net for it; present in Node 20, 22 and 24). A
 * socket that is bound but not yet listening is never accepted from in the master:
 * the worker it is lent to calls listen() and accepts.
 */
const createServerHandle = (net as unknown as { _createServerHandle?: CreateServerHandle })._createServerHandle;

/** `bind EADDRINUSE: address already in use 127.0.0.1:8000`, as node:net words its own. */
function bindError(errno: number, address: string | null, port: number): Error {
  const [name, text] = getSystemErrorMap().get(errno) ?? [`errno ${errno}`, 'unknown error'];
  return new Error(`bind ${name}: ${text} ${address ?? '*'}:${port}`);
}

export class ListeningSocket {
  /** False if a later Node drops the export: the master then leaves the socket to node:cluster. */
  static readonly supported = typeof createServerHandle === 'function';
  private closed = false;

  private constructor(
    private readonly handle: TcpHandle,
    readonly port: number,
  ) {}

  /** Binds host:port (port 0: a free port, read back into `port`); no --host: every address. */
  static async bind(host: string | undefined, port: number): Promise<ListeningSocket> {
    let address: string | null = null;
    let family = 4;
    if (host !== undefined) {
      const found = await lookup(host).catch((err: Error) => {
        throw new Error(`cannot resolve --host ${host}: ${err.message}`);
      });
      ({ address, family } = found);
    }
    const handle = createServerHandle!(address, port, family);
    if (typeof handle === 'number') throw bindError(handle, address, port);
    // libuv holds back a bind's EADDRINUSE until the next call on the handle: this one.
    const out: { port?: number } = {};
    const err = handle.getsockname(out);
    if (err) {
      handle.close();
      throw bindError(err, address, port);
    }
    return new ListeningSocket(handle, out.port ?? port);
  }

  /**
   * A unix socket at `file`, only the workers' user may connect to (a process
   * group's, config/groups.ts). A stale one a killed server left is replaced;
   * the master's close at the end removes it (libuv unlinks a bound path).
   */
  static bindPath(file: string, owner?: { uid: number; gid: number }): ListeningSocket {
    if (!ListeningSocket.supported) throw new Error('this Node has no net._createServerHandle: process groups need it to share their socket');
    rmSync(file, { force: true });
    const handle = createServerHandle!(file, -1, -1);
    if (typeof handle === 'number') throw bindError(handle, file, 0);
    chmodSync(file, 0o600);
    if (owner) chownSync(file, owner.uid, owner.gid);
    return new ListeningSocket(handle, 0);
  }

  /** Answers a worker's borrow-socket request with the socket; the master keeps its own copy. */
  lendTo(worker: Worker, listener: ListenerName): void {
    if (this.closed || !worker.isConnected()) return;
    const message: ListenSocketMessage = { t: 'listen-socket', listener };
    worker.send(message, this.handle as unknown as net.Server, { keepOpen: true });
  }

  /** Stopping: once the workers close their copies too, new connections are refused. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle.close();
  }
}

/** Binding one listener failed: names its option, the address and why. */
export class ListenError extends Error {
  /** `127.0.0.1:8443 (--https-port)` */
  readonly where: string;
  constructor(spec: ListenerSpec, host: string | undefined, cause: Error) {
    super(cause.message);
    this.name = 'ListenError';
    this.where = `${host ?? '*'}:${spec.port} (--${spec.flag})`;
  }
}

/** The master's sockets, one per listener (config/listeners.ts), each lent by name. */
export class ListeningSockets {
  private constructor(private readonly sockets: ReadonlyMap<ListenerName, ListeningSocket>) {}

  /** Binds every listener, or none: a failure closes those already bound. */
  static async bind(host: string | undefined, specs: readonly ListenerSpec[]): Promise<ListeningSockets> {
    const bound = new Map<ListenerName, ListeningSocket>();
    for (const spec of specs) {
      try {
        bound.set(spec.name, await ListeningSocket.bind(host, spec.port));
      } catch (err) {
        for (const socket of bound.values()) socket.close();
        throw new ListenError(spec, host, err as Error);
      }
    }
    return new ListeningSockets(bound);
  }

  /** One unix socket, lent as the `http` listener: a process group's (ListeningSocket.bindPath). */
  static ofPath(file: string, owner?: { uid: number; gid: number }): ListeningSockets {
    return new ListeningSockets(new Map([['http', ListeningSocket.bindPath(file, owner)]]));
  }

  /** The concrete port of each listener (port 0 read back). */
  ports(): Record<string, number> {
    return Object.fromEntries([...this.sockets].map(([name, socket]) => [name, socket.port]));
  }

  lendTo(worker: Worker, listener: ListenerName): void {
    this.sockets.get(listener)?.lendTo(worker, listener);
  }

  close(): void {
    for (const socket of this.sockets.values()) socket.close();
  }
}
