/**
 * Stage: drop request headers an application must never see, before any
 * interface looks at them (mod_wsgi wsgi_environ.c): a name with any character
 * outside A-Z a-z 0-9 '-' (so `X_User` cannot spoof `X-User` once both map to
 * HTTP_X_USER), `Proxy` (httpoxy, CVE-2016-5385), and `Proxy-Authorization`
 * (credentials for a proxy on the way, never for the application).
 */
import type { IncomingMessage } from 'node:http';
import type { Stage } from './context.js';
import { rewriteRequestHeaders } from './request-headers.js';

function isAllowedName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ok =
      (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45;
    if (!ok) return false;
  }
  if (name.length === 5) return name.toLowerCase() !== 'proxy';
  return name.length !== 19 || name.toLowerCase() !== 'proxy-authorization';
}

function removeHeaders(req: IncomingMessage): void {
  rewriteRequestHeaders(req, (name, value) => (isAllowedName(name) ? value : undefined));
}

export const headerFilter: Stage = (ctx, next) => {
  const raw = ctx.req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (!isAllowedName(raw[i]!)) {
      removeHeaders(ctx.req);
      break;
    }
  }
  next(ctx);
};
