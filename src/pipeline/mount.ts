/**
 * Stage: split the request target into SCRIPT_NAME (the mount point), PATH_INFO
 * (percent-decoded, %2F included) and QUERY_STRING. A path that is not valid
 * percent-encoded UTF-8 gets 400; a path outside the mount point gets 404
 * without reaching the application (mod_wsgi-express behaviour). Repeated
 * slashes are merged first, as mod_wsgi does for SCRIPT_NAME and PATH_INFO
 * (wsgi_environ.c); encoded ones (%2F%2F) are the client's data and stay.
 * The asterisk target (RFC 9112 3.2.4) names the server, not a resource: the
 * server answers `OPTIONS *` itself and refuses `*` with any other method, as
 * Apache does, so no application sees a PATH_INFO of '*'.
 */
import type { RequestContext, Stage } from './context.js';
import { sendError } from './error-response.js';

/** The request target in origin-form: absolute-form (RFC 9112 3.2.2) keeps only its path. */
function originForm(url: string): string {
  if (url.charCodeAt(0) === 47 /* / */) return url;
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(url);
  return m ? url.slice(m[0].length) || '/' : url;
}

function mergeSlashes(raw: string): string {
  return raw.includes('//') ? raw.replace(/\/{2,}/g, '/') : raw;
}

function decodePath(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** `OPTIONS *`: what the server offers in general; the methods a resource allows are the app's to say. */
function answerAsterisk(ctx: RequestContext): void {
  if (ctx.req.method !== 'OPTIONS') {
    sendError(ctx.res, 400, { detail: "The request target '*' is only for OPTIONS." });
    return;
  }
  ctx.res.writeHead(200, { 'Content-Length': 0 });
  ctx.res.end();
}

export function mountStage(mountPoint: string): Stage {
  const mount = mountPoint === '/' ? '' : mountPoint;
  const mountSlash = mount.endsWith('/') ? mount : mount + '/';
  return (ctx: RequestContext, next) => {
    const url = ctx.req.url ?? '/';
    if (url === '*') return answerAsterisk(ctx);
    const target = originForm(url);
    const q = target.indexOf('?');
    const path = decodePath(mergeSlashes(q < 0 ? target : target.slice(0, q)));
    if (path === undefined) {
      sendError(ctx.res, 400, { detail: 'The request path is not valid percent-encoded UTF-8.' });
      return;
    }
    ctx.queryString = q < 0 ? '' : target.slice(q + 1);
    if (mount === '') {
      ctx.scriptName = '';
      ctx.pathInfo = path;
    } else if (path === mount || path + '/' === mountSlash) {
      ctx.scriptName = mount;
      ctx.pathInfo = '';
    } else if (path.startsWith(mountSlash)) {
      ctx.scriptName = mount;
      ctx.pathInfo = path.slice(mount.length);
    } else {
      sendError(ctx.res, 404);
      return;
    }
    next(ctx);
  };
}
