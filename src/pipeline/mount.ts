/**
 * Stage: split the request target into SCRIPT_NAME (the mount point), PATH_INFO
 * (percent-decoded, %2F included) and QUERY_STRING. A path that is not valid
 * percent-encoded UTF-8 gets 400; a path outside the mount point gets 404
 * without reaching the application (mod_wsgi-express behaviour).
 */
import type { RequestContext, Stage } from './context.js';
import { sendError } from './error-response.js';

function splitTarget(url: string): [path: string, query: string] {
  let target = url;
  // Absolute-form (RFC 9112 3.2.2): keep only the path.
  if (!target.startsWith('/')) {
    const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(target);
    target = m ? target.slice(m[0].length) || '/' : target;
  }
  const q = target.indexOf('?');
  return q < 0 ? [target, ''] : [target.slice(0, q), target.slice(q + 1)];
}

function decodePath(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

export function mountStage(mountPoint: string): Stage {
  const mount = mountPoint === '/' ? '' : mountPoint;
  const mountSlash = mount.endsWith('/') ? mount : mount + '/';
  return (ctx: RequestContext, next) => {
    const [rawPath, query] = splitTarget(ctx.req.url ?? '/');
    const path = decodePath(rawPath);
    if (path === undefined) {
      sendError(ctx.res, 400, { detail: 'The request path is not valid percent-encoded UTF-8.' });
      return;
    }
    ctx.queryString = query;
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
