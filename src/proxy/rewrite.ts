/**
 * ProxyPassReverse and ProxyPassReverseCookiePath: a redirect or cookie the
 * upstream addresses to itself (its URL, or a path under its base path) is made
 * to point under the mount on this server instead, so the client stays on the
 * public side.
 */
import type { Upstream } from './upstream.js';

export interface ReverseMap {
  readonly upstream: Upstream;
  /** The mount without its trailing slash ('' for a virtual host). */
  readonly prefix: string;
  /** `http://host:port` as the client addressed this server. */
  readonly publicOrigin: string;
}

/** An upstream path under its base path, moved under the mount; undefined if it is outside. */
function mapPath(path: string, map: ReverseMap): string | undefined {
  const base = map.upstream.basePath;
  if (base === '') return map.prefix + path;
  if (path === base || path.startsWith(base + '/') || path.startsWith(base + '?')) {
    const rest = path.slice(base.length);
    return map.prefix + (rest === '' && map.prefix === '' ? '/' : rest);
  }
  return undefined;
}

function sameOrigin(url: URL, upstream: Upstream): boolean {
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return url.protocol === upstream.protocol && url.hostname.replace(/^\[|\]$/g, '').toLowerCase() === upstream.hostname.toLowerCase() &&
    port === upstream.port;
}

/** A Location (or Content-Location) value as the client should see it. */
export function reverseLocation(value: string, map: ReverseMap): string {
  if (value.startsWith('/') && !value.startsWith('//')) return mapPath(value, map) ?? value;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return value;
  }
  if (!sameOrigin(url, map.upstream)) return value;
  const mapped = mapPath(url.pathname + url.search + url.hash, map);
  return mapped === undefined ? value : map.publicOrigin + mapped;
}

/** A Set-Cookie value with its Path attribute moved under the mount. */
export function reverseCookiePath(cookie: string, map: ReverseMap): string {
  return cookie.replace(/(;\s*path=)([^;]*)/i, (whole, attr: string, path: string) => {
    const mapped = mapPath(path.trim(), map);
    return mapped === undefined ? whole : attr + mapped;
  });
}
