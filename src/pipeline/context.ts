/**
 * The per-request state the pipeline stages share. One object per request,
 * created by worker/server.ts; stages fill in what they decide.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * An upgrade request's connection (WebSocket and other `Upgrade:` requests):
 * `res` writes to it while a stage answers (404, 401...); an app or a proxy that
 * takes it over writes to `socket` itself.
 */
export interface UpgradeConnection {
  readonly socket: Duplex;
  /** Bytes the client sent after the request head. */
  readonly head: Buffer;
}

/** The listener a request arrived on (config/listeners.ts), as the request sees it. */
export interface ListenerInfo {
  readonly scheme: 'http' | 'https';
  /** The port the listener serves: SERVER_PORT. */
  readonly port: number;
}

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Where the request came in: its scheme and port (one worker serves several listeners). */
  readonly listener: ListenerInfo;
  /** Request id: unique within the server run, shown in logs and the environ. */
  readonly id: string;
  /** performance.now() when the request arrived (monotonic; for durations). */
  readonly startMono: number;
  /** Wall-clock arrival time, microseconds since the epoch. */
  readonly startUs: number;
  /** Mount point part of the path ('' at /), set by the mount stage. */
  scriptName: string;
  /** Percent-decoded path below the mount point, set by the mount stage. */
  pathInfo: string;
  /** Which application the mount stage chose: 0 the main one, i the i-th of Config.apps (1-based). */
  appIndex?: number;
  /** A pattern mount's app (--mount-app-match) chose the request: its script (the group-hop stage starts and reaches it). */
  matchScript?: string;
  /** Raw query string without '?', '' when absent. */
  queryString: string;
  /**
   * Outside --mount-point, with static files to try first (the mount stage lets
   * it through): scriptName is '' and pathInfo the whole path; never the app's.
   */
  outsideMount?: boolean;
  /** The user for REMOTE_USER and the access log's %u (the authenticate stage). */
  remoteUser?: string;
  /** AUTH_TYPE: how remoteUser was authenticated. */
  authType?: 'Basic' | 'Digest';
  /** Set for upgrade requests only (worker/upgrade.ts). */
  readonly upgrade?: UpgradeConnection;
  /** What trusted forwarded headers changed (proxy-headers stage); undefined when nothing. */
  forwarded?: Forwarded;
  /** Set when the app is given GET for a HEAD (--map-head-to-get): the method the client sent. */
  clientMethod?: string;
}

/**
 * The request as the trusted proxy headers describe it (--trust-proxy-header),
 * each field present only when a trusted header set it. The environ, the fetch
 * Request, the node interface's socket view and the access log all read it.
 */
export interface Forwarded {
  /** REMOTE_ADDR: the client (X-Forwarded-For chain walk, X-Real-IP, X-Client-IP, Forwarded for=). */
  remoteAddr?: string;
  /** HTTP_HOST, verbatim (X-Forwarded-Host, X-Host, Forwarded host=); the Host header is rewritten to it too. */
  host?: string;
  /** The Host the request came with, before `host` replaced it: SERVER_NAME stays with it, as in mod_wsgi. */
  originalHost?: string;
  /** SERVER_NAME (X-Forwarded-Server). */
  serverName?: string;
  /** SERVER_PORT (X-Forwarded-Port). */
  serverPort?: string;
  /** SCRIPT_NAME (X-Script-Name, X-Forwarded-Script-Name); PATH_INFO is left as it is. */
  scriptName?: string;
  /** tsgi.url_scheme (X-Forwarded-Proto and its synonyms, Forwarded proto=). */
  scheme?: 'http' | 'https';
}

/**
 * A pipeline stage: acts on the request, then calls next(ctx) to pass it on (or
 * answers it and does not). `next` is fixed when the pipeline is built, so passing
 * a request along allocates nothing.
 */
export type Stage = (ctx: RequestContext, next: (ctx: RequestContext) => void) => void;

/**
 * The application call, whatever the interface. It owns the response from here;
 * the pipeline learns the request is over from `res` 'close'.
 */
export type AppHandler = (ctx: RequestContext) => void;

const REQUEST_CONTEXT = Symbol('tsgi-express.request-context');

/** Links a request to its context, for those who only hold the request (a connection's parser). */
export function attachContext(ctx: RequestContext): void {
  (ctx.req as IncomingMessage & { [REQUEST_CONTEXT]?: RequestContext })[REQUEST_CONTEXT] = ctx;
}

/** The context of a request the server dispatched; undefined for one Node answered itself (no Host). */
export function contextOf(req: IncomingMessage): RequestContext | undefined {
  return (req as IncomingMessage & { [REQUEST_CONTEXT]?: RequestContext })[REQUEST_CONTEXT];
}
