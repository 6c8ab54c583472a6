/**
 * Stage: a request with more than one Host header, or a Host that is not a
 * valid `host[:port]`, gets 400 (RFC 9112 3.2 says a server MUST; Apache does).
 * The Host names the server, and every interface builds on it (SERVER_NAME, the
 * fetch Request's URL): a Host such as `x/admin?` must not reach an app, where
 * a URL built from it would route on a path the mount stage never saw.
 * The authority of an absolute-form target (`GET http://h/x`), which stands for
 * the Host, is held to the same rules. Node itself refuses an HTTP/1.1 request
 * with no Host.
 */
import type { Stage } from './context.js';
import { sendError } from './error-response.js';
import { absoluteForm } from './request-view.js';

/** RFC 3986 authority without userinfo: IP-literal, or reg-name/IPv4 characters; digits after ':'. */
export const VALID_HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

function isHostName(name: string): boolean {
  return name.length === 4 && (name === 'Host' || name === 'host' || name.toLowerCase() === 'host');
}

export const hostCheck: Stage = (ctx, next) => {
  const raw = ctx.req.rawHeaders;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (!isHostName(raw[i]!)) continue;
    if (host !== undefined) return void sendError(ctx.res, 400, { detail: 'The request has more than one Host header.' });
    host = raw[i + 1]!;
  }
  if (host !== undefined && !VALID_HOST.test(host)) {
    return void sendError(ctx.res, 400, { detail: 'The Host header is not a valid host or host:port.' });
  }
  // An absolute-form target's authority takes the place of Host (request-view.ts): the same rules.
  const authority = ctx.req.url?.charCodeAt(0) === 47 /* / */ ? undefined : absoluteForm(ctx.req.url ?? '')?.authority;
  if (authority !== undefined && !VALID_HOST.test(authority.slice(authority.lastIndexOf('@') + 1))) {
    return void sendError(ctx.res, 400, { detail: 'The host of the request target is not a valid host or host:port.' });
  }
  next(ctx);
};
