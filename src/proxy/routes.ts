/**
 * Which requests the proxy mounts take: a --proxy-virtual-host name (the Host
 * without its port, compared without case) wins; then the longest
 * --proxy-mount-point prefix of the normalised path. `/mount` alone is a redirect
 * to `/mount/`, as mod_wsgi-express configures Apache.
 */
import { requestHost, requestTarget, serverNameFromHost } from '../pipeline/request-view.js';
import type { RequestContext } from '../pipeline/context.js';
import { normaliseProxyMount, parseUpstream, type Upstream } from './upstream.js';

export interface Route {
  readonly upstream: Upstream;
  /** The mount without its trailing slash ('' for the root mount); undefined for a virtual host. */
  readonly prefix: string | undefined;
}

export type Match = { readonly route: Route; readonly rest: string } | 'redirect' | undefined;

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

const built = new WeakMap<ProxyConfig, ProxyRoutes>();

export class ProxyRoutes {
  /** The routes of a Config, built once for the stages that need them (mount, proxy). */
  static of(config: ProxyConfig): ProxyRoutes {
    let routes = built.get(config);
    if (!routes) built.set(config, (routes = new ProxyRoutes(config)));
    return routes;
  }

  private readonly mounts: (Route & { prefix: string })[];
  private readonly hosts: Map<string, Route>;

  constructor(config: ProxyConfig) {
    this.mounts = config.proxyMountPoint
      // The root mount has no prefix: every path is proxied, none is stripped.
      .map(([mount, upstream]) => ({ prefix: normaliseProxyMount(mount).replace(/^\/$/, ''), upstream: upstreamOf(upstream) }))
      .sort((a, b) => b.prefix.length - a.prefix.length);
    this.hosts = new Map(
      config.proxyVirtualHost.map(([host, upstream]) => [host.toLowerCase(), { prefix: undefined, upstream: upstreamOf(upstream) }]),
    );
  }

  get empty(): boolean {
    return this.mounts.length === 0 && this.hosts.size === 0;
  }

  /** The Host a request is for (an absolute-form target's authority wins). */
  static hostOf(ctx: RequestContext): string | undefined {
    return requestHost(requestTarget(ctx.req), ctx.req.headers.host);
  }

  /** `path`: the raw path, slashes merged and dot segments removed. */
  match(path: string, host: string | undefined): Match {
    const byHost = this.hosts.size > 0 && host !== undefined ? this.hosts.get(serverNameFromHost(host).toLowerCase()) : undefined;
    if (byHost) return { route: byHost, rest: path };
    for (const mount of this.mounts) {
      if (mount.prefix === '') return { route: mount, rest: path };
      if (path === mount.prefix) return 'redirect';
      if (path.startsWith(mount.prefix + '/')) return { route: mount, rest: path.slice(mount.prefix.length) };
    }
    return undefined;
  }
}
