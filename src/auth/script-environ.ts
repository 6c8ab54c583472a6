/**
 * The environ the access-control scripts get: mod_wsgi's cut-down one
 * (wsgi_auth.c). The request's headers as HTTP_* (never Authorization or
 * Proxy-Authorization: the script gets the credentials as arguments), the CGI
 * keys that describe the request and the server, tsgi.errors; no body, no
 * --setenv/--passenv values. The group script also sees REMOTE_USER and
 * AUTH_TYPE, the user it is asked about. Behind a trusted proxy
 * (--trust-proxy-header) REMOTE_ADDR, the scheme, SERVER_NAME, SERVER_PORT and
 * SCRIPT_NAME are what the forwarded headers say, as in the application's environ.
 */
import type { Log } from '../logging/log.js';
import type { RequestContext } from '../pipeline/context.js';
import { clientAddress, requestClient, requestHost, requestScheme, requestTarget, serverNameFromHost } from '../pipeline/request-view.js';
import { requestErrors } from '../adapters/request-errors.js';

/** What the environ takes from the server; the port and scheme are the request's listener's (ctx.listener). */
export interface ScriptServer {
  readonly version: string;
}

export type ScriptEnviron = Record<string, unknown>;

function cgiKey(name: string): string {
  const upper = name.toUpperCase().replaceAll('-', '_');
  return upper === 'CONTENT_TYPE' || upper === 'CONTENT_LENGTH' ? upper : 'HTTP_' + upper;
}

export function scriptEnviron(
  ctx: RequestContext,
  server: ScriptServer,
  log: Log,
  authenticated?: { user: string; type: string },
): ScriptEnviron {
  const { req } = ctx;
  const socket = req.socket;
  const target = requestTarget(req);
  const environ: ScriptEnviron = {
    REQUEST_METHOD: req.method,
    REQUEST_URI: target,
    SCRIPT_NAME: ctx.forwarded?.scriptName ?? ctx.scriptName,
    PATH_INFO: ctx.pathInfo,
    QUERY_STRING: ctx.queryString,
    SERVER_NAME: 'localhost',
    SERVER_ADDR: clientAddress(socket.localAddress) ?? '',
    SERVER_PORT: ctx.forwarded?.serverPort ?? String(ctx.listener.port),
    SERVER_PROTOCOL: 'HTTP/' + req.httpVersion,
    SERVER_SOFTWARE: `tsgi-express/${server.version}`,
    REMOTE_ADDR: requestClient(ctx) ?? '',
    REMOTE_PORT: String(socket.remotePort ?? ''),
    'tsgi.url_scheme': requestScheme(ctx, ctx.listener.scheme),
    'tsgi.errors': requestErrors(ctx, log),
    'tsgi_express.version': server.version,
    'tsgi_express.process_id': process.pid,
    'tsgi_express.request_id': ctx.id,
  };
  if (authenticated) {
    environ.REMOTE_USER = authenticated.user;
    environ.AUTH_TYPE = authenticated.type;
  }
  const raw = req.rawHeaders;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const key = cgiKey(raw[i]!);
    if (key === 'HTTP_AUTHORIZATION' || key === 'HTTP_PROXY_AUTHORIZATION') continue;
    const value = raw[i + 1]!;
    if (key === 'HTTP_HOST') host ??= value;
    const previous = environ[key];
    environ[key] = previous === undefined ? value : previous + (key === 'HTTP_COOKIE' ? '; ' : ', ') + value;
  }
  // SERVER_NAME stays with the Host the request came with when a trusted X-Forwarded-Host replaced it (as in the app's environ).
  const requested = requestHost(target, ctx.forwarded?.host === undefined ? host : ctx.forwarded.originalHost);
  const serverName = ctx.forwarded?.serverName ?? (requested ? serverNameFromHost(requested) : undefined);
  if (serverName) environ.SERVER_NAME = serverName;
  return environ;
}
