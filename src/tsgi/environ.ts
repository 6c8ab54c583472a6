/**
 * Builds the TSGI environ from a request (CGI keys, HTTP_* headers, tsgi.* and
 * tsgi_express.* keys). Header filtering itself happens earlier, in the
 * header-filter stage, so every interface sees the same headers.
 */
import type { Environ, ErrorStream, FileWrapper, Input } from '../index.js';
import { clientAddress, requestHost, requestTarget, serverNameFromHost } from '../pipeline/request-view.js';
import type { RequestContext } from '../pipeline/context.js';

/** What the environ takes from the server rather than from the request. */
export interface ServerInfo {
  readonly port: string;
  readonly scheme: 'http' | 'https';
  readonly multithread: boolean;
  readonly multiprocess: boolean;
  /** --setenv pairs and --passenv values, resolved once at worker start. */
  readonly extra: readonly (readonly [string, string])[];
  readonly version: string;
  readonly scriptPath: string;
  readonly debugMode: boolean;
  readonly fileWrapper: FileWrapper;
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
function addHeaders(environ: Record<string, unknown>, raw: readonly string[]): string | undefined {
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

export function buildEnviron(
  ctx: RequestContext,
  server: ServerInfo,
  input: Input,
  errors: ErrorStream,
): Environ {
  const { req } = ctx;
  const socket = req.socket;
  const target = requestTarget(req);
  // Every fixed key in one literal: V8 sizes the object for them at once instead
  // of growing it key by key (headers and --setenv values are added after).
  const environ: Record<string, unknown> = {
    REQUEST_METHOD: req.method,
    SCRIPT_NAME: ctx.scriptName,
    PATH_INFO: ctx.pathInfo,
    QUERY_STRING: ctx.queryString,
    REQUEST_URI: target,
    SERVER_NAME: 'localhost',
    SERVER_PORT: server.port,
    SERVER_PROTOCOL: req.httpVersion === '1.1' ? 'HTTP/1.1' : 'HTTP/' + req.httpVersion,
    REMOTE_ADDR: clientAddress(socket.remoteAddress) ?? '',
    REMOTE_PORT: String(socket.remotePort ?? ''),
    'tsgi.version': TSGI_VERSION,
    'tsgi.url_scheme': server.scheme,
    'tsgi.input': input,
    'tsgi.errors': errors,
    'tsgi.multithread': server.multithread,
    'tsgi.multiprocess': server.multiprocess,
    'tsgi.run_once': false,
    'tsgi.input_terminated': true,
    'tsgi.file_wrapper': server.fileWrapper,
    'tsgi_express.version': server.version,
    'tsgi_express.process_id': process.pid,
    'tsgi_express.request_id': ctx.id,
    'tsgi_express.request_start': ctx.startUs,
    'tsgi_express.script_name': server.scriptPath,
    'tsgi_express.debug_mode': server.debugMode,
  };
  if (ctx.authType !== undefined) {
    environ.REMOTE_USER = ctx.remoteUser;
    environ.AUTH_TYPE = ctx.authType;
  }
  const hostHeader = addHeaders(environ, req.rawHeaders);
  const host = requestHost(target, hostHeader);
  if (host !== hostHeader) environ.HTTP_HOST = host;
  if (host) environ.SERVER_NAME = serverNameFromHost(host);
  // --setenv/--passenv never replace a key the request or the server set (as in Apache,
  // where the CGI variables are added over SetEnv's).
  for (const [name, value] of server.extra) if (environ[name] === undefined) environ[name] = value;
  return environ as Environ;
}

const TSGI_VERSION = Object.freeze([1, 0] as const);
