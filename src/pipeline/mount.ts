/**
 * Stage: split the request target into SCRIPT_NAME (the mount point), PATH_INFO
 * (percent-decoded, %2F included) and QUERY_STRING. A path that is not valid
 * percent-encoded UTF-8 gets 400; a path outside the mount point gets 404
 * without reaching the application (mod_wsgi-express behaviour). Repeated
 * slashes are merged first, as mod_wsgi does for SCRIPT_NAME and PATH_INFO
 * (wsgi_environ.c); encoded ones (%2F%2F) are the client's data and stay.
 * Dot segments (`.`, `..`, also as %2e) are removed as Apache does before the
 * mount point is matched, so `/app/../x` is not inside mount point /app; a
 * `..` above the root gets 400, as does a target with '#' (in the path or the
 * query) or an encoded NUL.
 * The asterisk target (RFC 9112 3.2.4) names the server, not a resource: the
 * server answers `OPTIONS *` itself and refuses `*` with any other method, as
 * Apache does, so no application sees a PATH_INFO of '*'.
 */
import type { RequestContext, Stage } from './context.js';
import { sendError } from './error-response.js';
import { absoluteForm } from './request-view.js';
import type { PatternRouter } from '../groups/match-route.js';

export function mergeSlashes(raw: string): string {
  return raw.includes('//') ? raw.replace(/\/{2,}/g, '/') : raw;
}

/** 0: not a dot segment; 1: '.'; 2: '..' (either may be percent-encoded, %2e). */
function dotSegment(segment: string): number {
  if (segment.length === 0 || segment.length > 6) return 0;
  const plain = segment.replace(/%2e/gi, '.');
  return plain === '.' ? 1 : plain === '..' ? 2 : 0;
}

export function mayHaveDotSegments(path: string): boolean {
  return path.includes('/.') || (path.includes('%') && /\/%2e/i.test(path));
}

/** RFC 3986 5.2.4 on a raw path; undefined when a '..' climbs above the root. */
export function removeDotSegments(path: string): string | undefined {
  const segments = path.split('/');
  const kept: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const dots = dotSegment(segment);
    if (dots === 2 && kept.pop() === undefined) return undefined;
    if (dots === 0) kept.push(segment);
    else if (i === segments.length - 1) kept.push(''); // '/a/.' and '/a/b/..' keep their trailing slash
  }
  return '/' + kept.join('/');
}

/** The decoded path, or why it cannot be one. */
function decodePath(raw: string): string | { problem: string } {
  if (raw.includes('#')) return { problem: "The request path holds a '#' (a fragment is not sent to a server)." };
  if (!raw.includes('%')) return raw;
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    return { problem: 'The request path is not valid percent-encoded UTF-8.' };
  }
  return path.includes('\0') ? { problem: 'The request path holds an encoded NUL (%00).' } : path;
}

/**
 * The raw path with its dot segments removed. When that changes it, req.url
 * becomes the normalised target, so every interface sees the path that was
 * matched; req.originalUrl (REQUEST_URI, the access log) keeps what was sent.
 */
function normalisePath(ctx: RequestContext, url: string, raw: string, query: string): string | undefined {
  if (!mayHaveDotSegments(raw)) return raw;
  const normal = removeDotSegments(raw);
  if (normal !== undefined && normal !== raw) {
    ctx.req.originalUrl = url;
    ctx.req.url = normal + query;
  }
  return normal;
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

/**
 * `serverPaths`: paths outside the mount point the server answers itself (the
 * status page, --metrics-path); they go on, with SCRIPT_NAME '' and the path as
 * PATH_INFO, to the stage that answers them after access control. `elsewhere`
 * claims paths outside the mount point that a later stage serves (the proxy
 * mounts): those pass on the same way, so that access control, which matches on
 * them, covers them too.
 * `staticFirst`: a static stage follows, which serves the rest of the site (the
 * document root, aliases); any other path outside the mount point goes on to it,
 * marked outsideMount, and the 404 is its to give.
 */
export function mountStage(
  mountPoint: string,
  serverPaths: readonly string[] = [],
  elsewhere?: (rawPath: string, ctx: RequestContext) => boolean,
  staticFirst = false,
  appMounts: readonly string[] = [],
  patterns?: PatternRouter,
): Stage {
  if (appMounts.length > 0 || patterns) return mountsStage([mountPoint, ...appMounts], serverPaths, elsewhere, staticFirst, patterns);
  const mount = mountPoint === '/' ? '' : mountPoint;
  const mountSlash = mount.endsWith('/') ? mount : mount + '/';
  return (ctx: RequestContext, next) => {
    const path = requestPath(ctx);
    if (path === undefined) return;
    if (mount === '') {
      ctx.scriptName = '';
      ctx.pathInfo = path;
    } else if (path === mount || path + '/' === mountSlash) {
      ctx.scriptName = mount;
      ctx.pathInfo = '';
    } else if (path.startsWith(mountSlash)) {
      ctx.scriptName = mount;
      ctx.pathInfo = path.slice(mount.length);
    } else if (!outsideMounts(ctx, path, serverPaths, elsewhere, staticFirst)) {
      return;
    }
    next(ctx);
  };
}

/**
 * A path under no application's mount: passed on (SCRIPT_NAME '') when the
 * server, a proxy mount or the static stage takes it; else answered 404.
 */
function outsideMounts(
  ctx: RequestContext,
  path: string,
  serverPaths: readonly string[],
  elsewhere: ((rawPath: string, ctx: RequestContext) => boolean) | undefined,
  staticFirst: boolean,
): boolean {
  if (serverPaths.includes(path) || elsewhere?.(rawPath(ctx), ctx)) {
    ctx.scriptName = '';
    ctx.pathInfo = path;
  } else if (staticFirst) {
    ctx.scriptName = '';
    ctx.pathInfo = path;
    ctx.outsideMount = true;
  } else {
    sendError(ctx.res, 404);
    return false;
  }
  return true;
}

/** The raw (percent-encoded) path requestPath decoded: req.url is the normalised target by then. */
function rawPath(ctx: RequestContext): string {
  const url = ctx.req.url ?? '/';
  const target = absoluteForm(url)?.rest ?? url;
  const q = target.indexOf('?');
  return mergeSlashes(q < 0 ? target : target.slice(0, q));
}

/**
 * The decoded, normalised path of the request, with ctx.queryString set; or
 * undefined once the request was answered (400, `*`).
 */
function requestPath(ctx: RequestContext): string | undefined {
  const url = ctx.req.url ?? '/';
  if (url === '*') return void answerAsterisk(ctx);
  const target = absoluteForm(url)?.rest ?? url;
  const q = target.indexOf('?');
  const raw = normalisePath(ctx, url, mergeSlashes(q < 0 ? target : target.slice(0, q)), q < 0 ? '' : target.slice(q));
  if (raw === undefined) return void sendError(ctx.res, 400, { detail: "The request path climbs above the root ('..')." });
  const path = decodePath(raw);
  if (typeof path !== 'string') return void sendError(ctx.res, 400, { detail: path.problem });
  if (q >= 0 && target.includes('#', q)) {
    return void sendError(ctx.res, 400, { detail: "The query string holds a '#' (a fragment is not sent to a server)." });
  }
  ctx.queryString = q < 0 ? '' : target.slice(q + 1);
  return path;
}

/**
 * Several applications (--mount-app): the most specific mount that holds the
 * path wins, as mod_wsgi's WSGIScriptAlias directives do when listed most
 * specific first; ctx.appIndex says whose it is (0: the main application).
 * A pattern mount (--mount-app-match) counts as a mount at the prefix it
 * matched: it wins when that is longer than the explicit mount's and its script
 * exists (ctx.matchScript); else the explicit mount, or 404, as without it.
 */
function mountsStage(
  mountPoints: readonly string[],
  serverPaths: readonly string[],
  elsewhere: ((rawPath: string, ctx: RequestContext) => boolean) | undefined,
  staticFirst: boolean,
  patterns: PatternRouter | undefined,
): Stage {
  const mounts = mountPoints
    .map((point, index) => {
      const mount = point === '/' ? '' : point.replace(/\/$/, '');
      return { mount, slash: mount + '/', index };
    })
    .sort((a, b) => b.mount.length - a.mount.length);
  const explicit = (ctx: RequestContext, path: string, next: (ctx: RequestContext) => void) => {
    for (const { mount, slash, index } of mounts) {
      if (mount !== '' && path !== mount && !path.startsWith(slash)) continue;
      ctx.scriptName = mount;
      ctx.pathInfo = path.slice(mount.length);
      ctx.appIndex = index;
      return next(ctx);
    }
    if (outsideMounts(ctx, path, serverPaths, elsewhere, staticFirst)) next(ctx);
  };
  return (ctx: RequestContext, next) => {
    const path = requestPath(ctx);
    if (path === undefined) return;
    const hit = patterns?.match(path);
    const held = hit && mounts.find(({ mount, slash }) => mount === '' || path === mount || path.startsWith(slash));
    if (hit === undefined || (held !== undefined && held.mount.length >= hit.scriptName.length)) return explicit(ctx, path, next);
    patterns!.exists(hit.script, (exists) => {
      if (!exists) return explicit(ctx, path, next);
      ctx.scriptName = hit.scriptName;
      ctx.pathInfo = hit.pathInfo;
      ctx.matchScript = hit.script;
      next(ctx);
    });
  };
}
