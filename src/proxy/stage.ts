/**
 * Stage: reverse-proxy mounts (--proxy-mount-point URL UPSTREAM) and virtual
 * hosts (--proxy-virtual-host HOST UPSTREAM), mod_wsgi-express §2.22. Runs after
 * the host check, header filter, access control and limits, before the app's
 * mount point (Apache's ProxyPass takes precedence over the application too), and
 * takes no --threads slot: the upstream does the work. The longest matching
 * mount wins; a virtual host wins over mounts.
 */
import type { Log } from '../logging/log.js';
import type { RequestContext, Stage } from '../pipeline/context.js';
import { sendError } from '../pipeline/error-response.js';
import { mayHaveDotSegments, mergeSlashes, removeDotSegments } from '../pipeline/mount.js';
import { absoluteForm, requestHost, requestTarget, serverNameFromHost } from '../pipeline/request-view.js';
import type { TLSSocket } from 'node:tls';
import { forward, type ForwardOptions } from './forward.js';
import { tunnel } from './tunnel.js';
import { normaliseProxyMount, parseUpstream, type Upstream } from './upstream.js';

interface Route {
  readonly upstream: Upstream;
  /** The mount without its trailing slash; undefined for a virtual host. */
  readonly prefix: string | undefined;
}

export interface ProxyConfig {
  readonly proxyMountPoint: readonly (readonly [string, string])[];
  readonly proxyVirtualHost: readonly (readonly [string, string])[];
  readonly proxyTimeout: number;
}

function upstreamOf(text: string): Upstream {
  const parsed = parseUpstream(text);
  // The option schema refused anything that does not parse before the server started.
  if (typeof parsed === 'string') throw new Error(`proxy upstream ${parsed}`);
  return parsed;
}

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
  const mounts: (Route & { prefix: string })[] = config.proxyMountPoint
    // The root mount has no prefix: every path is proxied, none is stripped.
    .map(([mount, upstream]) => ({ prefix: normaliseProxyMount(mount).replace(/^\/$/, ''), upstream: upstreamOf(upstream) }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  const hosts = new Map<string, Route>(
    config.proxyVirtualHost.map(([host, upstream]) => [host.toLowerCase(), { prefix: undefined, upstream: upstreamOf(upstream) }]),
  );
  if (mounts.length === 0 && hosts.size === 0) return undefined;
  const timeoutMs = config.proxyTimeout * 1000;

  const route = (path: string, host: string | undefined): { route: Route; rest: string } | 'redirect' | undefined => {
    const byHost = hosts.size > 0 && host !== undefined ? hosts.get(serverNameFromHost(host).toLowerCase()) : undefined;
    if (byHost) return { route: byHost, rest: path };
    for (const mount of mounts) {
      if (mount.prefix === '') return { route: mount, rest: path };
      if (path === mount.prefix) return 'redirect';
      if (path.startsWith(mount.prefix + '/')) return { route: mount, rest: path.slice(mount.prefix.length) };
    }
    return undefined;
  };

  return (ctx, next) => {
    const target = splitTarget(ctx);
    if (target === undefined) return next(ctx); // the mount stage answers 400
    const host = requestHost(requestTarget(ctx.req), ctx.req.headers.host);
    const found = route(target.path, host);
    if (found === undefined) return next(ctx);
    if (found === 'redirect') {
      // mod_wsgi-express: <LocationMatch '^/api$'> redirects to the mount with its slash.
      sendError(ctx.res, 302, { headers: { Location: `${target.path}/${target.query}` } });
      return;
    }
    const { route: r, rest } = found;
    const scheme = (ctx.req.socket as TLSSocket).encrypted ? 'https' : 'http';
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
