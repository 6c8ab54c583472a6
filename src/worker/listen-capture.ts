/**
 * Reverse port binding (as Phusion Passenger does it): the first HTTP server
 * (node:http, node:https or node:http2) the application asks to listen() is
 * captured instead of bound, and the worker hands it the requests (and upgrades)
 * that came through the pipeline. So an app file that ends in `app.listen(3000)`,
 * `serve(app)` or `await app.listen({ port })` runs unchanged on any --processes.
 *
 * The captured server behaves as if bound: the listen callback runs, it emits
 * 'listening', `server.listening` is true and `server.address()` gives the
 * server's real address and port (express-generator's bin/www prints it). A later
 * listen() on the same port (Fastify binds one server per address of `localhost`)
 * is captured the same way and serves nothing; one on another port is bound as
 * asked, with a warning, since it bypasses the server.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Log } from '../logging/log.js';

type ListenArgs = unknown[];

/** What the app asked for, parsed as net.Server#listen parses its arguments. */
interface ListenRequest {
  readonly port: number | undefined;
  readonly path: string | undefined;
  readonly callback: (() => void) | undefined;
}

function parseListenArgs(args: ListenArgs): ListenRequest {
  const last = args[args.length - 1];
  const callback = typeof last === 'function' ? (last as () => void) : undefined;
  const first = args[0];
  let port: number | undefined;
  let path: string | undefined;
  if (typeof first === 'object' && first !== null) {
    const options = first as { port?: unknown; path?: unknown };
    if (options.port !== undefined && options.port !== null) port = Number(options.port);
    if (typeof options.path === 'string') path = options.path;
  } else if (typeof first === 'number') port = first;
  else if (typeof first === 'string') {
    if (/^\d+$/.test(first)) port = Number(first);
    else path = first;
  }
  return { port: Number.isFinite(port) ? port : undefined, path, callback };
}

function isHttpServer(server: net.Server): boolean {
  if (server instanceof http.Server || server instanceof https.Server) return true;
  // node:http2 does not export its server classes.
  const name = server.constructor?.name;
  return name === 'Http2Server' || name === 'Http2SecureServer';
}

function describeTarget(request: ListenRequest): string {
  if (request.path !== undefined) return `socket ${request.path}`;
  return `port ${request.port ?? 0}`;
}

const OURS = Symbol('tsgi-express.ownServer');

export class ListenCapture {
  private server: net.Server | undefined;
  private requestedPort: number | undefined;
  private readonly waiters = new Set<(server: net.Server) => void>();
  private readonly originalListen = net.Server.prototype.listen;

  constructor(
    /** The address the worker serves on, for server.address() of a captured server. */
    private readonly address: () => net.AddressInfo,
    private readonly log: Log,
  ) {}

  /** Patches net.Server#listen for the life of the worker (a listen is rare; the check is cheap). */
  install(): this {
    const capture = this;
    const original = this.originalListen;
    net.Server.prototype.listen = function (this: net.Server, ...args: ListenArgs) {
      if ((this as { [OURS]?: boolean })[OURS] || !isHttpServer(this)) return Reflect.apply(original, this, args) as net.Server;
      return capture.onListen(this, args);
    } as typeof net.Server.prototype.listen;
    return this;
  }

  /** The worker's own listeners are never captured. */
  static markOwn(server: net.Server): void {
    (server as { [OURS]?: boolean })[OURS] = true;
  }

  /** The server captured so far, if any. */
  get captured(): net.Server | undefined {
    return this.server;
  }

  /** Resolves with the captured server, or undefined if none is captured within `ms` (0: wait for ever). */
  waitForServer(ms: number): Promise<net.Server | undefined> {
    if (this.server) return Promise.resolve(this.server);
    return new Promise((resolve) => {
      const timer = ms > 0 ? setTimeout(() => done(undefined), ms) : undefined;
      const done = (server: net.Server | undefined) => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve(server);
      };
      this.waiters.add(done);
    });
  }

  private onListen(server: net.Server, args: ListenArgs): net.Server {
    const request = parseListenArgs(args);
    if (this.server === undefined) {
      this.server = server;
      this.requestedPort = request.port;
      this.log.info(`captured the application's listen() on ${describeTarget(request)}: it is served on the server's own port instead`);
      this.pretendBound(server, request);
      for (const waiter of [...this.waiters]) waiter(server);
      return server;
    }
    if (server === this.server || (request.path === undefined && request.port === this.requestedPort) ||
      (request.port !== undefined && request.port === this.address().port)) {
      // Another address for the same port (Fastify on `localhost`), or the same server again.
      this.log.debug(`captured a second listen() on ${describeTarget(request)}: same port, served by the captured server`);
      this.pretendBound(server, request);
      return server;
    }
    this.log.warn(
      `the application also listens on ${describeTarget(request)}: bound as asked, outside tsgi-express ` +
        '(no pipeline, access log, mount point or graceful reload there)',
    );
    return Reflect.apply(this.originalListen, server, args) as net.Server;
  }

  /** Makes `server` look bound to the worker's real address, as listen() would, on the next tick. */
  private pretendBound(server: net.Server, request: ListenRequest): void {
    const address = this.address;
    Object.defineProperty(server, 'listening', { configurable: true, get: () => true });
    server.address = () => address();
    // close() of a server that is not bound would fail with ERR_SERVER_NOT_RUNNING.
    server.close = function (this: net.Server, callback?: (err?: Error) => void) {
      Object.defineProperty(this, 'listening', { configurable: true, get: () => false });
      process.nextTick(() => {
        this.emit('close');
        callback?.();
      });
      return this;
    };
    if (request.callback) server.once('listening', request.callback);
    process.nextTick(() => server.emit('listening'));
  }
}

/** The address the worker serves on, before its own server has bound (for a captured listen's address()). */
export function plannedAddress(host: string | undefined, port: number): net.AddressInfo {
  const address = host ?? '::';
  const family = net.isIPv4(address) ? 'IPv4' : net.isIPv6(address) ? 'IPv6' : 'IPv4';
  return { address, family, port };
}
