/**
 * Stage (--ssl-ca-certificate-file, --ssl-verify-client): under each required
 * URL prefix, a request without a client certificate that verified against the
 * CA gets 403 and never reaches the application. The HTTPS listener asks every
 * client for a certificate during the handshake (TLS 1.3 cannot ask again later,
 * as Apache's per-location renegotiation does with TLS 1.2), and this decides
 * per request. Prefixes match whole segments of the decoded, normalised path
 * the mount stage made (mount point included), as Apache's <Location> matches,
 * so neither `/private%2Fx` nor `/public/../private` gets past. A request on the
 * plain HTTP port cannot carry a certificate: under a prefix it gets 403 too.
 */
import type { TLSSocket } from 'node:tls';
import type { Stage } from './context.js';
import { sendError } from './error-response.js';

/** Whether `path` is `prefix` or below it, on a segment boundary. */
export function underPrefix(path: string, prefix: string): boolean {
  if (prefix === '/') return true;
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47 /* / */);
}

export function clientCertificateStage(prefixes: readonly string[]): Stage {
  return (ctx, next) => {
    const path = ctx.scriptName + ctx.pathInfo || '/';
    if (!prefixes.some((prefix) => underPrefix(path, prefix))) return next(ctx);
    const socket = ctx.req.socket as Partial<TLSSocket>;
    if (socket.encrypted === true && socket.authorized === true) return next(ctx);
    const detail = socket.encrypted
      ? 'This resource needs a client certificate that the server trusts.'
      : 'This resource needs a client certificate: request it over HTTPS, with one the server trusts.';
    sendError(ctx.res, 403, { detail });
  };
}
