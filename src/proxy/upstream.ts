/**
 * A reverse-proxy upstream as --proxy-mount-point and --proxy-virtual-host take
 * it, in mod_wsgi-express's (Apache's ProxyPass) forms: `http://host[:port][/path]`,
 * `https://...`, or `unix:/path/to.sock|http://host[/path]` (the URL after `|`
 * gives the Host header and the path). Pure: used by the option schema (a bad one
 * stops the server at start, naming the flag) and by the proxy stage.
 */
export interface Upstream {
  /** As given, for messages. */
  readonly text: string;
  /** `http://host:port` (the unix form's URL part for a socket). */
  readonly origin: string;
  readonly protocol: 'http:' | 'https:';
  readonly hostname: string;
  readonly port: number;
  /** The Host header sent upstream. */
  readonly host: string;
  /** The upstream path prefix without its trailing slash ('' for '/'). */
  readonly basePath: string;
  readonly socketPath?: string;
}

/** The upstream, or a sentence saying what is wrong with it. */
export function parseUpstream(text: string): Upstream | string {
  let socketPath: string | undefined;
  let rest = text;
  if (text.startsWith('unix:')) {
    const bar = text.indexOf('|');
    if (bar < 0) return `is a unix socket without the URL part: write unix:/path/to.sock|http://localhost/ (got "${text}")`;
    socketPath = text.slice(5, bar);
    rest = text.slice(bar + 1);
    if (!socketPath.startsWith('/')) return `needs an absolute socket path after unix: (got "${text}")`;
  }
  let url: URL;
  try {
    url = new URL(rest);
  } catch {
    return `is not an upstream URL: expected http://host[:port][/path], https://... or unix:/path.sock|http://host/ (got "${text}")`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `takes an http or https upstream, not ${url.protocol} (got "${text}")`;
  }
  if (url.search || url.hash || url.username || url.password) {
    return `takes an upstream without query, fragment or credentials (got "${text}")`;
  }
  if (!url.hostname) return `has no host (got "${text}")`;
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const path = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
  return {
    text,
    origin: `${url.protocol}//${url.host}`,
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port,
    host: url.host,
    basePath: path,
    socketPath,
  };
}

/** A proxy mount's URL path as given: a leading slash is added, a trailing one dropped ('/api/' and '/api' are one mount). */
export function normaliseProxyMount(mount: string): string {
  const withSlash = mount.startsWith('/') ? mount : '/' + mount;
  return withSlash.length > 1 && withSlash.endsWith('/') ? withSlash.slice(0, -1) : withSlash;
}
