/**
 * Stage: the host names this server answers to (--server-name, --server-alias,
 * --allow-localhost), as mod_wsgi-express's name-based virtual hosts do. A
 * request for the server name or an alias (wildcards `*` and `?`) goes on. One
 * for the parent domain of a `www.` server name is redirected to it (301, path
 * and query kept; with --https-only, over plain HTTP, the 302 to https instead). One from a loopback client goes on with --allow-localhost.
 * Anything else gets 403 and never reaches the application.
 *
 * Names are compared as Apache does: the host part of the Host header (or of
 * an absolute-form target), ignoring case, port and a trailing dot. The host and
 * client are those the trusted-proxy rules give (a trusted X-Forwarded-Host, the
 * client a trusted proxy names), so the rules hold behind a proxy too, whatever
 * the listener.
 */
import type { Log } from '../logging/log.js';
import type { RequestContext, Stage } from './context.js';
import { sendError } from './error-response.js';
import { overHttps, redirectToHttps } from './https-redirect.js';
import { absoluteForm, effectiveHost, requestClient, requestScheme, requestTarget, serverNameFromHost } from './request-view.js';

export interface HostNameRules {
  readonly serverName: string;
  readonly aliases: readonly string[];
  readonly allowLocalhost: boolean;
  /** --https-only's HTTPS port: the parent domain over plain HTTP gets its 302 to https instead of the 301. */
  readonly httpsOnlyPort?: number | undefined;
}

/** `Example.COM.` -> `example.com`; IPv6 literals keep their brackets. */
export function normaliseHostName(name: string): string {
  const lower = name.toLowerCase();
  if (lower.includes(':') && !lower.startsWith('[')) return `[${lower}]`;
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** A ServerAlias pattern: `*` any run of characters, `?` one character, nothing else special. */
function aliasMatcher(alias: string): (name: string) => boolean {
  const pattern = normaliseHostName(alias);
  if (!/[*?]/.test(pattern)) return (name) => name === pattern;
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  const re = new RegExp(`^${source}$`);
  return (name) => re.test(name);
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  return plain === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(plain);
}

/** The port in a host[:port], if any. */
function portOf(host: string | undefined): string | undefined {
  const m = host === undefined ? null : /:(\d+)$/.exec(host);
  return m === null ? undefined : m[1];
}

/**
 * Where a request for the parent domain goes: the same path and query on the
 * www. name, with the scheme and port the client used. Behind a proxy that
 * forwarded the host or scheme, our own port means nothing to the client: its
 * port is X-Forwarded-Port, else the forwarded host's, else the scheme's default.
 */
function redirectLocation(ctx: RequestContext, serverName: string): string {
  const scheme = requestScheme(ctx);
  const defaultPort = scheme === 'https' ? '443' : '80';
  const forwarded = ctx.forwarded;
  const proxied = forwarded?.host !== undefined || forwarded?.scheme !== undefined;
  const port = forwarded?.serverPort ?? (proxied ? portOf(forwarded?.host) : String(ctx.req.socket.localPort ?? ''));
  const target = requestTarget(ctx.req);
  const path = absoluteForm(target)?.rest ?? target;
  return `${scheme}://${serverName}${port === undefined || port === '' || port === defaultPort ? '' : ':' + port}${path}`;
}

export function hostNamesStage(rules: HostNameRules, log: Log): Stage {
  const serverName = normaliseHostName(rules.serverName);
  const matchers = [(name: string) => name === serverName, ...rules.aliases.map(aliasMatcher)];
  const parent = serverName.startsWith('www.') ? serverName.slice(4) : undefined;
  return (ctx, next) => {
    const host = effectiveHost(ctx);
    const name = host === undefined ? '' : normaliseHostName(serverNameFromHost(host));
    for (const matches of matchers) if (matches(name)) return next(ctx);
    if (parent !== undefined && name === parent) {
      // mod_wsgi-express's --https-only rewrites the parent domain's plain-HTTP host too (§2.13).
      if (rules.httpsOnlyPort !== undefined && !overHttps(ctx)) return redirectToHttps(ctx, rules.serverName, rules.httpsOnlyPort);
      const location = redirectLocation(ctx, rules.serverName);
      log.debug(`301 for ${requestClient(ctx)}: ${name} is redirected to ${location}`, ctx.id);
      return void sendError(ctx.res, 301, { headers: { Location: location }, detail: `This site is at ${location}` });
    }
    const client = requestClient(ctx);
    if (rules.allowLocalhost && isLoopback(client)) return next(ctx);
    log.info(`403 for ${client}: the host ${JSON.stringify(host ?? '')} is not ${rules.serverName} or one of its aliases`, ctx.id);
    sendError(ctx.res, 403, { detail: 'This server does not serve the host name the request asked for.' });
  };
}
