/**
 * One proxied request through undici: the client's body streamed up as it
 * arrives, the upstream's body streamed down with backpressure (uploads and
 * server-sent events pass through as they flow). An upstream that cannot be
 * reached answers 502, one that does not answer within --proxy-timeout 504;
 * both are logged with the request id. undici is imported on the first
 * proxied request, so workers without proxy mounts never load it.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Log } from '../logging/log.js';
import type { RequestContext } from '../pipeline/context.js';
import { formatError, sendError } from '../pipeline/error-response.js';
import { isHopByHop, upstreamHeaders, type ForwardedFacts } from './headers.js';
import { reverseCookiePath, reverseLocation, type ReverseMap } from './rewrite.js';
import type { Upstream } from './upstream.js';

type Undici = typeof import('undici');
let undici: Promise<Undici> | undefined;
const agents = new Map<string, Dispatcher>();

async function agentFor(upstream: Upstream, timeoutMs: number): Promise<Dispatcher> {
  const lib = await (undici ??= import('undici'));
  let agent = agents.get(upstream.text);
  if (agent === undefined) {
    const timeout = timeoutMs > 0 ? timeoutMs : 0;
    agent = new lib.Agent({
      headersTimeout: timeout,
      bodyTimeout: timeout,
      connect: { timeout: timeout || undefined, socketPath: upstream.socketPath },
    });
    agents.set(upstream.text, agent);
  }
  return agent;
}

/** Only these carry no body; anything else streams what the client sends. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * The request body as undici gets it: not the IncomingMessage itself, which
 * undici, once done with it, destroys after setting its `socket` to null (a
 * guard for Node's own client) and so leaves the server's request without its
 * socket. An unread rest is Node's to discard, keeping the connection usable.
 */
function bodyOf(req: IncomingMessage): PassThrough {
  const body = new PassThrough();
  req.pipe(body);
  body.once('close', () => req.unpipe(body));
  return body;
}

const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.code ?? e?.cause?.code;
}

export function describeFailure(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } };
  const cause = e?.cause?.message;
  return cause && cause !== e.message ? `${e?.message}: ${cause}` : (e?.message ?? String(err));
}

function responseHeaders(headers: Record<string, string | string[] | undefined>, map: ReverseMap): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || isHopByHop(name)) continue;
    if (name === 'location' || name === 'content-location') out[name] = reverseLocation(String(value), map);
    else if (name === 'set-cookie') out[name] = (Array.isArray(value) ? value : [value]).map((c) => reverseCookiePath(c, map));
    else out[name] = value;
  }
  return out;
}

export interface ForwardOptions extends ForwardedFacts {
  readonly path: string;
  readonly map: ReverseMap;
  readonly timeoutMs: number;
  readonly log: Log;
}

export async function forward(ctx: RequestContext, opts: ForwardOptions): Promise<void> {
  const { req, res } = ctx;
  const target = `${opts.upstream.origin}${opts.path}`;
  // undici takes an EventEmitter as its signal: an AbortController per request cost
  // more than the rest of the proxy's own code (measured on Node 20, 4% of the CPU).
  const signal = new EventEmitter();
  let aborted = false;
  const abort = () => {
    if (aborted) return;
    aborted = true;
    signal.emit('abort');
  };
  // Set once the upstream's answer is what the client gets: a response that ends
  // before that was answered by the server itself (a 413 when a chunked upload
  // grows past --limit-request-body), and the upstream request, whose body will
  // never end now, must not wait for --proxy-timeout.
  let relaying = false;
  res.once('close', () => {
    if (!relaying || !res.writableFinished) abort();
  });
  let answer: Dispatcher.ResponseData;
  try {
    const dispatcher = await agentFor(opts.upstream, opts.timeoutMs);
    answer = await dispatcher.request({
      origin: opts.upstream.origin,
      path: opts.path,
      method: req.method as Dispatcher.HttpMethod,
      headers: upstreamHeaders(ctx, opts, false),
      body: hasBody(req) ? bodyOf(req) : undefined,
      signal,
    });
  } catch (err) {
    if (aborted) return; // the client went away first, or the server answered
    const timedOut = TIMEOUTS.has(errorCode(err) ?? '');
    const status = timedOut ? 504 : 502;
    opts.log.error(`proxy: ${req.method} ${req.url} -> ${target}: ${status} (${describeFailure(err)})`, ctx.id);
    sendError(res, status, {
      detail: timedOut ? 'The upstream server did not answer in time.' : 'The upstream server could not be reached.',
    });
    return;
  }
  if (res.writableEnded) {
    // Answered meanwhile by the server itself: the close aborts the upstream.
    answer.body.destroy();
    return;
  }
  relaying = true;
  res.writeHead(answer.statusCode, responseHeaders(answer.headers, opts.map));
  // A body of unknown length (an event stream, say) may take its time to start: its
  // head goes now. One of known length brings the head with its first bytes, in one write.
  if (answer.headers['content-length'] === undefined) res.flushHeaders();
  // pipe(), not pipeline(): Node 20's pipeline makes and aborts an AbortController per
  // call (a DOMException each time, 5% of the proxy's CPU), and the close above already
  // ends the upstream's body when the client's response ends early.
  answer.body.on('error', (err) => {
    if (!aborted) opts.log.error(`proxy: ${req.method} ${req.url} -> ${target}: the upstream body failed (${formatError(err)})`, ctx.id);
    res.destroy();
  });
  answer.body.pipe(res);
}
