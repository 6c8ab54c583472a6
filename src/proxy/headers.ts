/**
 * The request head sent upstream: the client's headers less those about its own
 * connection (RFC 9110 7.6.1), the upstream's Host, and the X-Forwarded-* set
 * that tells the upstream what the client asked for (mod_proxy's X-Forwarded-For
 * and -Host; mod_wsgi-express's -Port and -Prefix; -Proto, the de-facto name).
 * Behind a trusted proxy (--trust-proxy-header) they carry what the trusted
 * headers say (the proxy-headers stage ran first): the chain starts at the
 * client those name, the scheme and port are the forwarded ones.
 */
import type { IncomingMessage } from 'node:http';
import type { RequestContext } from '../pipeline/context.js';
import { clientAddress, requestScheme } from '../pipeline/request-view.js';
import type { Upstream } from './upstream.js';

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  // Node has already answered Expect: 100-continue; the upstream gets the body as it comes.
  'expect',
]);

const SET_BY_PROXY = new Set(['host', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-forwarded-prefix']);

/** Names the client's Connection header lists: hop-by-hop too. */
function connectionTokens(req: IncomingMessage): Set<string> {
  const value = req.headers.connection;
  const tokens = new Set<string>();
  if (typeof value === 'string') for (const token of value.split(',')) tokens.add(token.trim().toLowerCase());
  return tokens;
}

export interface ForwardedFacts {
  readonly upstream: Upstream;
  /** The mount without its trailing slash; undefined for a virtual host. */
  readonly prefix: string | undefined;
}

/** Flat [name, value, ...] header list for the upstream request; `upgrade` keeps Connection/Upgrade. */
export function upstreamHeaders(ctx: RequestContext, facts: ForwardedFacts, upgrade: boolean): string[] {
  const { req } = ctx;
  const listed = connectionTokens(req);
  const out: string[] = [];
  let forwardedFor: string | undefined;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (lower === 'x-forwarded-for') {
      forwardedFor = forwardedFor === undefined ? raw[i + 1]! : `${forwardedFor}, ${raw[i + 1]!}`;
      continue;
    }
    if (SET_BY_PROXY.has(lower)) continue;
    if (!upgrade && (HOP_BY_HOP.has(lower) || listed.has(lower))) continue;
    if (upgrade && lower !== 'connection' && lower !== 'upgrade' && (HOP_BY_HOP.has(lower) || listed.has(lower))) continue;
    out.push(name, raw[i + 1]!);
  }
  const socket = req.socket;
  const peer = clientAddress(socket.remoteAddress) ?? '';
  // The chain as the trusted headers left it (cut to start at the client), or, when another
  // trusted header (X-Real-IP, Forwarded) named the client and X-Forwarded-For was dropped, that
  // client; an untrusted peer's X-Forwarded-For is gone by now. Then the peer, as every proxy adds.
  forwardedFor ??= ctx.forwarded?.remoteAddr;
  out.push('Host', facts.upstream.host);
  out.push('X-Forwarded-For', forwardedFor === undefined ? peer : `${forwardedFor}, ${peer}`);
  if (req.headers.host !== undefined) out.push('X-Forwarded-Host', req.headers.host);
  out.push('X-Forwarded-Proto', requestScheme(ctx));
  out.push('X-Forwarded-Port', ctx.forwarded?.serverPort ?? String(socket.localPort ?? ''));
  if (facts.prefix !== undefined && facts.prefix !== '') out.push('X-Forwarded-Prefix', facts.prefix);
  return out;
}

/** Response headers from upstream, less hop-by-hop ones (undici's lower-cased object). */
export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name);
}
