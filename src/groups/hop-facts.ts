/**
 * What the front worker decided about a request, carried across the hop to the
 * process group that serves it, in one header: the request id, which app, its
 * SCRIPT_NAME and PATH_INFO, the listener, what the trusted-proxy rules changed,
 * the authenticated user, and the client's connection (hop-connection.ts: its
 * addresses and ports, TLS), HTTP version and connection headers, which the hop's
 * own HTTP/1.1 connection would otherwise replace. The group's workers take them
 * instead of deciding again (they see only the front's unix socket connection),
 * and give the app the request as the client sent it: the header gone, the
 * client's own Connection (Keep-Alive, Upgrade, TE...) headers back in their
 * places. Only the front can send it: the group's socket is the server's own
 * (mode 0600, in its server root), and the front replaces any such header a
 * client sent.
 */
import type { IncomingMessage } from 'node:http';
import { proxiedTls } from '../net/proxy-protocol.js';
import type { Forwarded, ListenerInfo, RequestContext } from '../pipeline/context.js';
import { connectionFacts, type HopConnection } from './hop-connection.js';

export const HOP_HEADER = 'x-tsgi-express-hop';

export interface HopFacts {
  readonly id: string;
  /** When the front received it (tsgi_express.request_start): microseconds since the epoch. */
  readonly start: number;
  /** The app's index in its group (0: the group's first). */
  readonly app: number;
  readonly scriptName: string;
  readonly pathInfo: string;
  readonly queryString: string;
  readonly listener: ListenerInfo;
  readonly forwarded?: Forwarded;
  readonly remoteUser?: string;
  readonly authType?: 'Basic' | 'Digest';
  readonly clientMethod?: string;
  readonly connection: HopConnection;
  /** The client's HTTP version, when not 1.1 (the hop's). */
  readonly httpVersion?: string;
  /** How many entries of the hop request's raw headers are the client's own (the hop's and Node's come after). */
  readonly sent: number;
  /** The client's connection headers the hop left out: [index in the client's raw headers, name, value, ...]. */
  readonly dropped?: (string | number)[];
}

/** The client's raw headers the hop leaves out, and how many it sends (hop-forward.ts's list). */
export interface HopHeaders {
  readonly sent: number;
  readonly dropped: (string | number)[];
}

/** Characters a header value may not carry as they are: JSON writes them as \\uXXXX escapes instead. */
const NOT_ASCII = /[\u007f-\uffff]/g;
const escapeChar = (c: string): string => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');

/**
 * The header's value: JSON in ASCII (any path or user name fits in a header), which the
 * group parses as it is (percent-encoding it cost the group 7% of its CPU per request).
 */
export function encodeHopFacts(ctx: RequestContext, app: number, headers: HopHeaders): string {
  const req = ctx.req;
  // A PROXY preamble's TLS flag makes the request https at the front; the group cannot see the preamble.
  const forwarded = ctx.forwarded?.scheme === undefined && proxiedTls(req.socket) ? { ...ctx.forwarded, scheme: 'https' as const } : ctx.forwarded;
  const facts: HopFacts = {
    id: ctx.id,
    start: ctx.startUs,
    app,
    scriptName: ctx.scriptName,
    pathInfo: ctx.pathInfo,
    queryString: ctx.queryString,
    listener: ctx.listener,
    ...(forwarded !== undefined ? { forwarded } : {}),
    ...(ctx.remoteUser !== undefined ? { remoteUser: ctx.remoteUser } : {}),
    ...(ctx.authType !== undefined ? { authType: ctx.authType } : {}),
    ...(ctx.clientMethod !== undefined ? { clientMethod: ctx.clientMethod } : {}),
    connection: connectionFacts(req.socket),
    ...(req.httpVersion !== '1.1' ? { httpVersion: req.httpVersion } : {}),
    sent: headers.sent,
    ...(headers.dropped.length > 0 ? { dropped: headers.dropped } : {}),
  };
  return JSON.stringify(facts).replace(NOT_ASCII, escapeChar);
}

const FACTS = Symbol('tsgi-express.hop-facts');
type Carrying = IncomingMessage & { [FACTS]?: HopFacts | null };

function parse(value: string | undefined): HopFacts | null {
  if (value === undefined) return null;
  try {
    const facts = JSON.parse(value) as HopFacts;
    return typeof facts === 'object' && facts !== null && typeof facts.id === 'string' && typeof facts.sent === 'number' && typeof facts.connection === 'object' && facts.connection !== null ? facts : null;
  } catch {
    return null;
  }
}

/** node:http's count of raw header entries, which req.headers is built from when first read. */
let headersCount: symbol | undefined;

/**
 * Gives the request other raw headers: req.headers (and headersDistinct) are
 * built from them again when next read, as node:http builds them from its own.
 */
function replaceRawHeaders(req: IncomingMessage, raw: string[]): void {
  headersCount ??= Object.getOwnPropertySymbols(req).find((s) => s.description === 'kHeadersCount');
  req.rawHeaders.splice(0, req.rawHeaders.length, ...raw);
  if (headersCount !== undefined) {
    (req as unknown as Record<symbol, number>)[headersCount] = raw.length;
    (req as { headers: unknown }).headers = null;
    return;
  }
  const headers = {};
  const add = (req as unknown as { _addHeaderLine(name: string, value: string, dst: object): void })._addHeaderLine;
  for (let i = 0; i < raw.length; i += 2) add.call(req, raw[i]!, raw[i + 1]!, headers);
  req.headers = headers;
}

/** The client's raw headers again: the ones the hop sent, and in their places the ones it left out. */
function clientHeaders(raw: readonly string[], facts: HopFacts): string[] {
  const out = raw.slice(0, facts.sent);
  const dropped = facts.dropped ?? [];
  for (let i = 0; i < dropped.length; i += 3) out.splice(dropped[i] as number, 0, String(dropped[i + 1]), String(dropped[i + 2]));
  return out;
}

/**
 * The facts a request arrived with (parsed once, cached on it), its raw headers
 * made the client's again; null when it came without them.
 */
export function hopFacts(req: IncomingMessage): HopFacts | null {
  const carrying = req as Carrying;
  if (carrying[FACTS] !== undefined) return carrying[FACTS];
  const raw = req.rawHeaders;
  let value: string | undefined;
  for (let i = raw.length - 2; i >= 0; i -= 2) {
    if (raw[i]!.length === HOP_HEADER.length && raw[i]!.toLowerCase() === HOP_HEADER) value = raw[i + 1];
  }
  const facts = parse(value);
  carrying[FACTS] = facts;
  if (facts !== null) replaceRawHeaders(req, clientHeaders(raw, facts));
  else if (value !== undefined) replaceRawHeaders(req, raw.filter((_, i) => raw[i - (i % 2)]!.toLowerCase() !== HOP_HEADER));
  return facts;
}
