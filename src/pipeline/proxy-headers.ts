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
import type { Socket } from 'node:net';
import type { Log } from '../logging/log.js';
import { TrustedProxies } from '../net/trusted-proxies.js';
import type { Forwarded, RequestContext, Stage } from './context.js';
import { sendError } from './error-response.js';
import { lookupHeader, HEADER_REGISTRY, type Category, type HeaderEntry } from './forwarded-headers.js';
import { VALID_HOST } from './host-check.js';
import { rewriteRequestHeaders } from './request-headers.js';
import { clientAddress } from './request-view.js';

/**
 * The guarded headers the request carries: lower-cased names and their values
 * (repeats joined with ', ', as Apache merges them), in two parallel arrays.
 */
interface Present {
  readonly names: string[];
  readonly values: string[];
}

function guardedHeaders(raw: readonly string[], guarded: ReadonlySet<string>, lengths: ReadonlySet<number>): Present | undefined {
  let present: Present | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (!lengths.has(name.length)) continue;
    const lower = name.toLowerCase();
    if (!guarded.has(lower)) continue;
    present ??= { names: [], values: [] };
    const at = present.names.indexOf(lower);
    if (at < 0) {
      present.names.push(lower);
      present.values.push(raw[i + 1]!);
    } else present.values[at] += `, ${raw[i + 1]!}`;
  }
  return present;
}

const BELIEVED = Symbol('tsgi-express.peerBelieved');

/** Whether the connection's peer is believed; once per connection (the peer does not change). */
function peerBelieved(socket: Socket & { [BELIEVED]?: boolean }, trusted: TrustedProxies): boolean {
  let believed = socket[BELIEVED];
  if (believed === undefined) socket[BELIEVED] = believed = trusted.trusts(clientAddress(socket.remoteAddress));
  return believed;
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

  /**
   * Applies the trusted headers present, in the order given; returns the names of
   * the winners (the last applied in each category: the headers kept).
   */
  const apply = (present: Present, view: Forwarded, rewrites: Map<string, string>): string[] => {
    const winners: [Category, string][] = [];
    for (const entry of entries) {
      const at = present.names.indexOf(entry.lower);
      if (at < 0) continue;
      const value = present.values[at]!;
      const applied = entry.apply(value, view, trusted);
      for (const category of applied.categories) {
        const won = winners.find((w) => w[0] === category);
        if (won) won[1] = entry.lower;
        else winners.push([category, entry.lower]);
      }
      if (applied.rewrite !== undefined && applied.rewrite !== value) rewrites.set(entry.lower, applied.rewrite);
    }
    return winners.map((w) => w[1]);
  };

  return (ctx: RequestContext, next) => {
    const { req } = ctx;
    const present = guardedHeaders(req.rawHeaders, guarded, lengths);
    if (present === undefined) return next(ctx);
    const believed = peerBelieved(req.socket, trusted);
    const view: Forwarded = {};
    const rewrites = new Map<string, string>();
    const kept = believed ? apply(present, view, rewrites) : [];
    if (view.host !== undefined && !VALID_HOST.test(view.host)) {
      log.info(`400 for ${clientAddress(req.socket.remoteAddress)}: the forwarded host ${JSON.stringify(view.host)} is not a valid host[:port]`, ctx.id);
      return void sendError(ctx.res, 400, { detail: 'The forwarded host is not a valid host or host:port.' });
    }
    const dropped = kept.length === present.names.length ? undefined : present.names.filter((name) => !kept.includes(name));
    if (!believed) log.debug(`${clientAddress(req.socket.remoteAddress)} is not a trusted proxy: ignored ${present.names.join(', ')}`, ctx.id);
    let extra: [string, string][] | undefined;
    if (view.host !== undefined) {
      view.originalHost = req.headers.host;
      if (view.originalHost === undefined) extra = [['Host', view.host]];
      else rewrites.set('host', view.host);
    }
    if (dropped !== undefined || rewrites.size > 0 || extra !== undefined) {
      const written = new Set<string>();
      rewriteRequestHeaders(req, (name, value) => {
        const lower = name.toLowerCase();
        if (dropped?.includes(lower)) return undefined;
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
