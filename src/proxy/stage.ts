/**
 * Stage: reverse-proxy mounts (--proxy-mount-point URL UPSTREAM) and virtual
 * hosts (--proxy-virtual-host HOST UPSTREAM), mod_wsgi-express §2.22. Runs after
 * the host check, header filter, mount (which lets the proxied paths through,
 * outside the app's mount point too) and access control, before the app (Apache's
 * ProxyPass takes precedence over the application too), and takes no --threads
 * slot: the upstream does the work. Which requests it takes: routes.ts.
 */
import type { Log } from '../logging/log.js';
import type { RequestContext, Stage } from '../pipeline/context.js';
import { sendError } from '../pipeline/error-response.js';
import { mayHaveDotSegments, mergeSlashes, removeDotSegments } from '../pipeline/mount.js';
import { absoluteForm, requestScheme } from '../pipeline/request-view.js';
import { forward, type ForwardOptions } from './forward.js';
import { tunnel } from './tunnel.js';
import { ProxyRoutes, type ProxyConfig } from './routes.js';

/** The request path (dot segments removed, slashes merged) and query; undefined: climbs above the root. */
function splitTarget(ctx: RequestContext): { path: string; query: string } | undefined {
  const url = ctx.req.url ?? '/';
  const target = absoluteForm(url)?.rest ?? url;
  const q = target.indexOf('?');
  const raw = mergeSlashes(q < 0 ? target : target.slice(0, q));
  const path = mayHaveDotSegments(raw) ? removeDotSegments(raw) : raw;
  return path === undefined ? undefined : { path, query: q < 0 ? '' : target.slice(q) };
}

export function proxyStage(config: ProxyConfig, log: Log): Stage | undefined {
  const routes = ProxyRoutes.of(config);
  if (routes.empty) return undefined;
  const timeoutMs = config.proxyTimeout * 1000;

  return (ctx, next) => {
    const target = splitTarget(ctx);
    if (target === undefined) return next(ctx); // the mount stage answers 400
    const host = ProxyRoutes.hostOf(ctx);
    const found = routes.match(target.path, host);
    if (found === undefined) return next(ctx);
    if (found === 'redirect') {
      // mod_wsgi-express: <LocationMatch '^/api$'> redirects to the mount with its slash.
      sendError(ctx.res, 302, { headers: { Location: `${target.path}/${target.query}` } });
      return;
    }
    const { route: r, rest } = found;
    const scheme = requestScheme(ctx);
    const opts: ForwardOptions = {
      upstream: r.upstream,
      prefix: r.prefix,
      path: `${r.upstream.basePath}${rest === '' ? '/' : rest}${target.query}`,
      map: { upstream: r.upstream, prefix: r.prefix ?? '', publicOrigin: `${scheme}://${host ?? 'localhost'}` },
      timeoutMs,
      log,
    };
    if (ctx.upgrade) tunnel(ctx, opts);
    else void forward(ctx, opts);
  };
}

/** For the mount stage: the paths outside the app's mount point that a proxy mount takes. */
export function proxiedElsewhere(config: ProxyConfig): ((rawPath: string, ctx: RequestContext) => boolean) | undefined {
  const routes = ProxyRoutes.of(config);
  if (routes.empty) return undefined;
  return (rawPath, ctx) => routes.match(rawPath, ProxyRoutes.hostOf(ctx)) !== undefined;
}
