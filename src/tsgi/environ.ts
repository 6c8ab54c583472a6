/**
 * Builds the TSGI environ from a request (CGI keys, HTTP_* headers, tsgi.* and
 * tsgi_express.* keys). Header filtering itself happens earlier, in the
 * header-filter stage, so every interface sees the same headers.
 */
import type { Environ, ErrorStream, FileWrapper, Input } from '../index.js';
import { requestClient, requestHost, requestScheme, requestTarget, serverNameFromHost } from '../pipeline/request-view.js';
import type { RequestContext } from '../pipeline/context.js';
import { requestSignal } from '../pipeline/request-signal.js';
import type { ServerResponse } from 'node:http';
import { sslVariables } from './ssl-environ.js';

/** What the environ takes from the server rather than from the request (the port and scheme are the listener's: ctx.listener). */
export interface ServerInfo {
  /** --server-name: SERVER_NAME whatever the Host (a trusted X-Forwarded-Server still wins). */
  readonly serverName?: string;
  readonly multithread: boolean;
  readonly multiprocess: boolean;
  /** --setenv pairs and --passenv values, resolved once at worker start. */
  readonly extra: readonly (readonly [string, string])[];
  readonly version: string;
  readonly scriptPath: string;
  readonly debugMode: boolean;
  readonly fileWrapper: FileWrapper;
  /** --ssl-environment: mod_ssl's SSL_* variables on HTTPS requests. */
  readonly sslEnvironment?: boolean;
}

const HEADER_KEYS = new Map<string, string>();

/**
 * Raw header name ('X-Forwarded-For', as the client spelled it) -> environ key
 * ('HTTP_X_FORWARDED_FOR', or CONTENT_TYPE/CONTENT_LENGTH). Cached by the raw
 * spelling: names repeat a lot, and this saves a lower-casing per header.
 */
function cgiKey(rawName: string): string {
  let key = HEADER_KEYS.get(rawName);
  if (key === undefined) {
    const upper = rawName.toUpperCase().replaceAll('-', '_');
    key = upper === 'CONTENT_TYPE' || upper === 'CONTENT_LENGTH' ? upper : 'HTTP_' + upper;
    if (HEADER_KEYS.size < 1000) HEADER_KEYS.set(rawName, key);
  }
  return key;
}

/** Adds the request headers; returns the Host header (read here, so req.headers is never built). */
function addHeaders(environ: { [key: string]: unknown }, raw: readonly string[]): string | undefined {
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const key = cgiKey(raw[i]!);
    const value = raw[i + 1]!;
    const previous = environ[key];
    if (previous === undefined) {
      environ[key] = value;
      if (key === 'HTTP_HOST') host = value;
    } else {
      // Repeats are joined as Apache does; cookies with '; ' (RFC 6265 5.4).
      environ[key] = previous + (key === 'HTTP_COOKIE' ? '; ' : ', ') + value;
    }
  }
  return host;
}

const RESPONSE = Symbol('tsgi-express.response');

/**
 * The environ's class. Its fixed keys are set in one constructor, so V8 sizes
 * the object for them at once, as for a literal (headers and --setenv values
 * are added after). `tsgi.signal` is an accessor on its prototype: the
 * AbortSignal is made only when an application reads it (one per request cost a
 * hello world several per cent); a literal with a getter or a `__proto__` is
 * many times slower to build (+0.9 us a request on Node 24).
 */
class EnvironObject {
  [key: string]: unknown;
  declare readonly [RESPONSE]: ServerResponse;

  constructor(ctx: RequestContext, server: ServerInfo, input: Input, errors: ErrorStream, target: string) {
    const req = ctx.req;
    const socket = req.socket;
    (this as { [RESPONSE]: ServerResponse })[RESPONSE] = ctx.res;
    this.REQUEST_METHOD = req.method;
    this.SCRIPT_NAME = ctx.forwarded?.scriptName ?? ctx.scriptName;
    this.PATH_INFO = ctx.pathInfo;
    this.QUERY_STRING = ctx.queryString;
    this.REQUEST_URI = target;
    this.SERVER_NAME = 'localhost';
    this.SERVER_PORT = ctx.forwarded?.serverPort ?? String(ctx.listener.port);
    this.SERVER_PROTOCOL = req.httpVersion === '1.1' ? 'HTTP/1.1' : req.httpVersionMajor === 2 ? 'HTTP/2' : 'HTTP/' + req.httpVersion;
    this.REMOTE_ADDR = requestClient(ctx) ?? '';
    this.REMOTE_PORT = String(socket.remotePort ?? '');
    this['tsgi.version'] = TSGI_VERSION;
    this['tsgi.url_scheme'] = requestScheme(ctx, ctx.listener.scheme);
    this['tsgi.input'] = input;
    this['tsgi.errors'] = errors;
    this['tsgi.multithread'] = server.multithread;
    this['tsgi.multiprocess'] = server.multiprocess;
    this['tsgi.run_once'] = false;
    this['tsgi.input_terminated'] = true;
    this['tsgi.file_wrapper'] = server.fileWrapper;
    this['tsgi_express.version'] = server.version;
    this['tsgi_express.process_id'] = process.pid;
    this['tsgi_express.request_id'] = ctx.id;
    this['tsgi_express.request_start'] = ctx.startUs;
    this['tsgi_express.script_name'] = server.scriptPath;
    this['tsgi_express.debug_mode'] = server.debugMode;
  }

  /** Aborts when the client goes away before the response is complete, or the request times out. */
  get ['tsgi.signal'](): AbortSignal {
    return requestSignal(this[RESPONSE]);
  }
}

export function buildEnviron(
  ctx: RequestContext,
  server: ServerInfo,
  input: Input,
  errors: ErrorStream,
): Environ {
  const environ = new EnvironObject(ctx, server, input, errors, requestTarget(ctx.req));
  if (ctx.authType !== undefined) {
    environ.REMOTE_USER = ctx.remoteUser;
    environ.AUTH_TYPE = ctx.authType;
  }
  // The CGI convention frameworks look for (Django's is_secure() among them); mod_wsgi strips it.
  if (environ['tsgi.url_scheme'] === 'https') environ.HTTPS = 'on';
  // mod_ssl's variables describe the TLS connection itself: none for plain HTTP, whatever a proxy says.
  if (server.sslEnvironment) Object.assign(environ, sslVariables(ctx.req.socket));
  const forwarded = ctx.forwarded;
  const target = environ.REQUEST_URI as string;
  const hostHeader = addHeaders(environ, ctx.req.rawHeaders);
  const host = forwarded?.host ?? requestHost(target, hostHeader);
  if (host !== hostHeader) environ.HTTP_HOST = host;
  // SERVER_NAME: a trusted X-Forwarded-Server, else --server-name, else the Host the request
  // came with (a trusted X-Forwarded-Host changes HTTP_HOST only, as in mod_wsgi).
  const requested = forwarded?.host === undefined ? host : requestHost(target, forwarded.originalHost);
  const serverName = forwarded?.serverName ?? server.serverName ?? (requested ? serverNameFromHost(requested) : undefined);
  if (serverName) environ.SERVER_NAME = serverName;
  if (forwarded?.scriptName !== undefined) environ['tsgi_express.mount_point'] = forwarded.scriptName;
  // --setenv/--passenv never replace a key the request or the server set (as in Apache,
  // where the CGI variables are added over SetEnv's).
  for (const [name, value] of server.extra) if (environ[name] === undefined) environ[name] = value;
  return environ as unknown as Environ;
}

const TSGI_VERSION = Object.freeze([1, 0] as const);
