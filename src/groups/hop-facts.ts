/**
 * What the front worker decided about a request, carried across the hop to the
 * process group that serves it, in one header: the request id, which app, its
 * SCRIPT_NAME and PATH_INFO, the listener, the client and scheme after the
 * trusted-proxy rules, the authenticated user. The group's workers take them
 * instead of deciding again (they see only the front's unix socket connection),
 * and strip the header before the app sees the request. Only the front can send
 * it: the group's socket is the server's own (mode 0600, in its server root),
 * and the front replaces any such header a client sent.
 */
import type { IncomingMessage } from 'node:http';
import type { Forwarded, ListenerInfo, RequestContext } from '../pipeline/context.js';
import { requestClient, requestScheme } from '../pipeline/request-view.js';

export const HOP_HEADER = 'x-tsgi-express-hop';

export interface HopFacts {
  readonly id: string;
  /** The app's index in its group (0: the group's first). */
  readonly app: number;
  readonly scriptName: string;
  readonly pathInfo: string;
  readonly queryString: string;
  readonly listener: ListenerInfo;
  readonly forwarded: Forwarded;
  readonly remoteUser?: string;
  readonly authType?: 'Basic' | 'Digest';
  readonly clientMethod?: string;
}

/** The header's value: JSON, percent-encoded so that any path or user name fits in a header. */
export function encodeHopFacts(ctx: RequestContext, app: number): string {
  const facts: HopFacts = {
    id: ctx.id,
    app,
    scriptName: ctx.scriptName,
    pathInfo: ctx.pathInfo,
    queryString: ctx.queryString,
    listener: ctx.listener,
    forwarded: { ...ctx.forwarded, remoteAddr: requestClient(ctx), scheme: requestScheme(ctx, ctx.listener.scheme) },
    ...(ctx.remoteUser !== undefined ? { remoteUser: ctx.remoteUser } : {}),
    ...(ctx.authType !== undefined ? { authType: ctx.authType } : {}),
    ...(ctx.clientMethod !== undefined ? { clientMethod: ctx.clientMethod } : {}),
  };
  return encodeURIComponent(JSON.stringify(facts));
}

const FACTS = Symbol('tsgi-express.hop-facts');
type Carrying = IncomingMessage & { [FACTS]?: HopFacts | null };

function parse(value: string | string[] | undefined): HopFacts | null {
  if (typeof value !== 'string') return null;
  try {
    const facts = JSON.parse(decodeURIComponent(value)) as HopFacts;
    return typeof facts === 'object' && facts !== null && typeof facts.id === 'string' ? facts : null;
  } catch {
    return null;
  }
}

/**
 * The facts a request arrived with (parsed once, cached on it), the header gone
 * from req.headers and req.rawHeaders; null when it came without them.
 */
export function hopFacts(req: IncomingMessage): HopFacts | null {
  const carrying = req as Carrying;
  if (carrying[FACTS] !== undefined) return carrying[FACTS];
  const facts = parse(req.headers[HOP_HEADER]);
  delete req.headers[HOP_HEADER];
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) if (raw[i]!.toLowerCase() === HOP_HEADER) raw.splice(i, 2);
  carrying[FACTS] = facts;
  return facts;
}
