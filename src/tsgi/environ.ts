/**
 * Builds the TSGI environ from a request (CGI keys, HTTP_* headers, tsgi.* and
 * tsgi_express.* keys). Header filtering itself happens earlier, in the
 * header-filter stage, so every interface sees the same headers.
 */
import type { Environ, ErrorStream, FileWrapper, Input } from '../index.js';
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

/** 'x-forwarded-for' -> 'HTTP_X_FORWARDED_FOR', cached: header names repeat a lot. */
function cgiKey(lowerName: string): string {
  let key = HEADER_KEYS.get(lowerName);
  if (key === undefined) {
    key = 'HTTP_' + lowerName.toUpperCase().replaceAll('-', '_');
    if (HEADER_KEYS.size < 1000) HEADER_KEYS.set(lowerName, key);
  }
  return key;
}

/** SERVER_NAME: the Host header's name without the port, else localhost. */
export function serverNameFromHost(host: string | undefined): string {
  if (!host) return 'localhost';
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end > 0 ? host.slice(0, end + 1) : host;
  }
  const colon = host.indexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

function addHeaders(environ: Record<string, unknown>, raw: readonly string[]): void {
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (lower === 'content-type') environ.CONTENT_TYPE = value;
    else if (lower === 'content-length') environ.CONTENT_LENGTH = value;
    else {
      const key = cgiKey(lower);
      const previous = environ[key];
      // Repeats are joined as Apache does; cookies with '; ' (RFC 6265 5.4).
      environ[key] =
        previous === undefined ? value : previous + (lower === 'cookie' ? '; ' : ', ') + value;
    }
  }
}

export function buildEnviron(
  ctx: RequestContext,
  server: ServerInfo,
  input: Input,
  errors: ErrorStream,
): Environ {
  const { req } = ctx;
  const socket = req.socket;
  const environ: Record<string, unknown> = {
    REQUEST_METHOD: req.method,
    SCRIPT_NAME: ctx.scriptName,
    PATH_INFO: ctx.pathInfo,
    QUERY_STRING: ctx.queryString,
    REQUEST_URI: req.url,
    SERVER_NAME: serverNameFromHost(req.headers.host),
    SERVER_PORT: server.port,
    SERVER_PROTOCOL: 'HTTP/' + req.httpVersion,
    REMOTE_ADDR: socket.remoteAddress ?? '',
    REMOTE_PORT: String(socket.remotePort ?? ''),
  };
  if (ctx.remoteUser !== undefined) environ.REMOTE_USER = ctx.remoteUser;
  addHeaders(environ, req.rawHeaders);
  for (const [name, value] of server.extra) environ[name] = value;
  environ['tsgi.version'] = TSGI_VERSION;
  environ['tsgi.url_scheme'] = server.scheme;
  environ['tsgi.input'] = input;
  environ['tsgi.errors'] = errors;
  environ['tsgi.multithread'] = server.multithread;
  environ['tsgi.multiprocess'] = server.multiprocess;
  environ['tsgi.run_once'] = false;
  environ['tsgi.input_terminated'] = true;
  environ['tsgi.file_wrapper'] = server.fileWrapper;
  environ['tsgi_express.version'] = server.version;
  environ['tsgi_express.process_id'] = process.pid;
  environ['tsgi_express.request_id'] = ctx.id;
  environ['tsgi_express.request_start'] = ctx.startUs;
  environ['tsgi_express.script_name'] = server.scriptPath;
  environ['tsgi_express.debug_mode'] = server.debugMode;
  return environ as Environ;
}

const TSGI_VERSION = Object.freeze([1, 0] as const);
