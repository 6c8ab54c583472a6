/**
 * Stage: trusted proxy headers (--trust-proxy-header, --trust-proxy), mod_wsgi's
 * algorithm (wsgi_process_proxy_headers). Each trusted header puts its category
 * under guard. When the peer is a trusted proxy (or no --trust-proxy was given),
 * each trusted header present is applied, in the order given, and the last one
 * applied in a category wins. Then every header of a guarded category except a
 * winner is removed from the request, for every interface: from an untrusted
 * peer that is all of them, so a client can never pose as its own proxy.
 * Categories with no trusted header are left alone.
 *
 * What the winners say goes to ctx.forwarded (REMOTE_ADDR, SERVER_NAME,
 * SERVER_PORT, SCRIPT_NAME, the scheme) and into the headers themselves: Host
 * becomes the forwarded host, and X-Forwarded-For (or Forwarded) is cut to
 * start at the client, as mod_wsgi rewrites HTTP_X_FORWARDED_FOR.
 */
import type { Log } from '../logging/log.js';
import { TrustedProxies } from '../net/trusted-proxies.js';
import type { Forwarded, RequestContext, Stage } from './context.js';
import { sendError } from './error-response.js';
import { lookupHeader, HEADER_REGISTRY, type Category, type HeaderEntry } from './forwarded-headers.js';
import { VALID_HOST } from './host-check.js';
import { rewriteRequestHeaders } from './request-headers.js';
import { clientAddress } from './request-view.js';

/** The values of the guarded headers the request carries (repeats joined with ', ', as Apache merges them). */
function guardedValues(raw: readonly string[], guarded: ReadonlySet<string>, lengths: ReadonlySet<number>) {
  let values: Map<string, string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (!lengths.has(name.length)) continue;
    const lower = name.toLowerCase();
    if (!guarded.has(lower)) continue;
    values ??= new Map();
    const previous = values.get(lower);
    values.set(lower, previous === undefined ? raw[i + 1]! : `${previous}, ${raw[i + 1]!}`);
  }
  return values;
}

function hasFields(view: Forwarded): boolean {
  for (const _ in view) return true;
  return false;
}

export function proxyHeadersStage(names: readonly string[], proxies: readonly string[], log: Log): Stage {
  const trusted = new TrustedProxies(proxies);
  const entries: HeaderEntry[] = names.map((name) => {
    const found = lookupHeader(name);
    if (found === undefined) throw new Error(`not a header --trust-proxy-header knows: ${name}`);
    return found;
  });
  const categories = new Set<Category>(entries.flatMap((e) => e.categories));
  const guarded = new Set(HEADER_REGISTRY.filter((e) => e.categories.some((c) => categories.has(c))).map((e) => e.lower));
  const lengths = new Set([...guarded].map((name) => name.length));

  /** Applies the trusted headers present; the names of the winners (the headers kept). */
  const apply = (values: Map<string, string>, view: Forwarded, rewrites: Map<string, string>): Set<string> => {
    const winners = new Map<Category, string>();
    for (const entry of entries) {
      const value = values.get(entry.lower);
      if (value === undefined) continue;
      const applied = entry.apply(value, view, trusted);
      for (const category of applied.categories) winners.set(category, entry.lower);
      if (applied.rewrite !== undefined && applied.rewrite !== value) rewrites.set(entry.lower, applied.rewrite);
    }
    return new Set(winners.values());
  };

  return (ctx: RequestContext, next) => {
    const { req } = ctx;
    const values = guardedValues(req.rawHeaders, guarded, lengths);
    if (values === undefined) return next(ctx);
    const peer = clientAddress(req.socket.remoteAddress);
    const believed = trusted.trusts(peer);
    const view: Forwarded = {};
    const rewrites = new Map<string, string>();
    const kept = believed ? apply(values, view, rewrites) : new Set<string>();
    if (view.host !== undefined && !VALID_HOST.test(view.host)) {
      log.info(`400 for ${peer}: the forwarded host ${JSON.stringify(view.host)} is not a valid host[:port]`, ctx.id);
      return void sendError(ctx.res, 400, { detail: 'The forwarded host is not a valid host or host:port.' });
    }
    const dropped = [...values.keys()].filter((name) => !kept.has(name));
    if (!believed) log.debug(`${peer} is not a trusted proxy: ignored ${dropped.join(', ')}`, ctx.id);
    const extra: [string, string][] = [];
    if (view.host !== undefined) {
      view.originalHost = req.headers.host;
      if (view.originalHost === undefined) extra.push(['Host', view.host]);
      else rewrites.set('host', view.host);
    }
    if (dropped.length > 0 || rewrites.size > 0 || extra.length > 0) {
      const drop = new Set(dropped);
      const written = new Set<string>();
      rewriteRequestHeaders(req, (name, value) => {
        const lower = name.toLowerCase();
        if (drop.has(lower)) return undefined;
        const rewrite = rewrites.get(lower);
        if (rewrite === undefined) return value;
        if (written.has(lower)) return undefined; // repeats were joined into the one rewritten line
        written.add(lower);
        return rewrite;
      }, extra);
    }
    if (hasFields(view)) ctx.forwarded = view;
    next(ctx);
  };
}
