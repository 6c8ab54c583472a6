/**
 * The front's side of the hop (mod_wsgi daemon mode's): a request for an app in
 * another process group is passed to that group's unix socket as HTTP/1.1,
 * streamed both ways. The group's workers share one listening socket the master
 * owns, so a draining or crashed worker simply stops accepting.
 *
 * Connections: a request that may be sent twice (GET, HEAD, OPTIONS without a
 * body) goes on a kept-alive connection from a pool per group, and is sent again
 * once, on a new connection, if that connection turns out closed before any
 * answer (a draining group worker closing it as the request went out: the race
 * every keep-alive client has, which browsers settle the same way). Any other
 * request (a body, an upgrade) gets a connection of its own, as mod_wsgi connects
 * to its daemon socket per request, so it is never sent twice.
 *
 * The request's body is piped as it arrives (chunked or not, 100-continue passed
 * through), the response's status, reason and headers are written as the app
 * gave them and its body piped with backpressure (server-sent events flow); a
 * client that goes away closes the hop, which the app sees as its own client
 * leaving. Upgrades (WebSockets) are tunnelled once the group's app switches
 * protocols.
 */
import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HopTarget } from '../config/groups.js';
import type { Log } from '../logging/log.js';
import type { RequestContext, UpgradeConnection } from '../pipeline/context.js';
import { formatError, sendError } from '../pipeline/error-response.js';
import { encodeHopFacts, HOP_HEADER } from './hop-facts.js';

/** Request headers that belong to the client's connection, not to the request (the group's app gets them back: hop-facts.ts). */
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'http2-settings', HOP_HEADER]);
/** The same for the group's response: Node frames the front's response itself. */
const RESPONSE_CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'trailer', 'upgrade']);

/**
 * The client's raw headers (their case and order kept) less its connection's, plus the
 * hop's facts, which carry the ones left out so that the group's app sees them all.
 */
function hopRequestHeaders(ctx: RequestContext, target: HopTarget, pooled: boolean): string[] {
  const raw = ctx.req.rawHeaders;
  const out: string[] = [];
  const dropped: (string | number)[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (CONNECTION_HEADERS.has(name.toLowerCase())) {
      if (name.toLowerCase() !== HOP_HEADER) dropped.push(out.length + dropped.length / 3 * 2, name, raw[i + 1]!);
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  const sent = out.length;
  // The group's node:http refuses an HTTP/1.1 request without Host (an HTTP/1.0 client's may have none); its app will not see this one.
  if (ctx.req.headers.host === undefined) out.push('Host', 'localhost');
  if (ctx.upgrade) out.push('Connection', 'Upgrade', 'Upgrade', String(ctx.req.headers.upgrade ?? ''));
  else if (!pooled) out.push('Connection', 'close');
  out.push(HOP_HEADER, encodeHopFacts(ctx, target.index, { sent, dropped }));
  return out;
}

/** The group's response headers, as raw pairs (case and order kept), less its connection's. */
function hopResponseHeaders(res: IncomingMessage): string[] {
  const raw = res.rawHeaders;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!RESPONSE_CONNECTION_HEADERS.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

const SAFE_TO_RESEND = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A request the front may send a second time: it goes on a kept-alive connection. */
function resendable(ctx: RequestContext): boolean {
  return ctx.upgrade === undefined && SAFE_TO_RESEND.has(ctx.req.method ?? '') && !hasBody(ctx.req);
}

const pools = new Map<string, http.Agent>();

/** The kept-alive connections to one group's socket (Node's agent closes an idle one before the group's keep-alive timeout does). */
function poolFor(socketPath: string): http.Agent {
  let agent = pools.get(socketPath);
  if (agent === undefined) {
    agent = new http.Agent({ keepAlive: true, maxFreeSockets: 1024, scheduling: 'lifo' });
    pools.set(socketPath, agent);
  }
  return agent;
}

/** The group's socket is there but no worker of it accepts: it is starting or has failed to. */
function unavailable(err: NodeJS.ErrnoException): boolean {
  return err.code === 'ECONNREFUSED' || err.code === 'ENOENT' || err.code === 'EAGAIN';
}

function failed(ctx: RequestContext, target: HopTarget, log: Log, err: NodeJS.ErrnoException): void {
  const down = unavailable(err);
  const status = down ? 503 : 502;
  log.error(`process group ${target.group}: ${ctx.req.method} ${ctx.req.url}: ${status} (${err.code ?? ''} ${err.message})`, ctx.id);
  if (!sendError(ctx.res, status, { detail: down ? `The application's process group (${target.group}) is not accepting requests.` : `The application's process group (${target.group}) failed to answer.` })) {
    ctx.res.destroy();
  }
}

/** Writes a response head to a connection taken over by an upgrade. */
function writeRawHead(socket: Duplex, res: IncomingMessage): void {
  const lines = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage}`];
  const raw = res.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) lines.push(`${raw[i]}: ${raw[i + 1]}`);
  socket.write(lines.join('\r\n') + '\r\n\r\n');
}

/** The group's app switched protocols: from here the two connections are joined. */
function joinUpgrade(upgrade: UpgradeConnection, res: IncomingMessage, groupSocket: Duplex, groupHead: Buffer): void {
  const client = upgrade.socket;
  writeRawHead(client, res);
  if (groupHead.length > 0) client.write(groupHead);
  if (upgrade.head.length > 0) groupSocket.write(upgrade.head);
  groupSocket.pipe(client);
  client.pipe(groupSocket);
  const close = () => {
    client.destroy();
    groupSocket.destroy();
  };
  client.once('close', close);
  groupSocket.once('close', close);
  client.on('error', close);
  groupSocket.on('error', close);
}

function relayResponse(res: ServerResponse, answer: IncomingMessage, ctx: RequestContext, target: HopTarget, log: Log, hop: http.ClientRequest): void {
  res.writeHead(answer.statusCode ?? 502, answer.statusMessage, hopResponseHeaders(answer) as unknown as OutgoingHttpHeaders);
  // A streamed body's head (an event stream's) goes now, before its first chunk; one with a
  // length goes out with its body, in one write.
  if (answer.headers['content-length'] === undefined) res.flushHeaders();
  // pipe(), not stream.pipeline(): pipeline makes an AbortController per call and aborts it at
  // the end, building a DOMException with its stack: 10% of the front's CPU per hop request.
  // The client leaving is send()'s to handle (it closes the hop); here, the group's answer
  // ending before its body did.
  answer.pipe(res);
  let failure: Error | undefined;
  answer.on('error', (err) => (failure = err));
  answer.once('close', () => {
    if (answer.complete) return; // the connection goes back to its pool, or closes (Connection: close)
    if (!res.writableFinished && !res.closed) {
      const why = failure ? formatError(failure) : 'the connection closed before its end';
      log.error(`process group ${target.group}: ${ctx.req.method} ${ctx.req.url}: the response body failed (${why})`, ctx.id);
      res.destroy();
    }
    hop.destroy();
  });
}

/** Passes one request to its app's process group; the pipeline's work is done (the front stages ran). */
export function forwardToGroup(ctx: RequestContext, target: HopTarget, log: Log): void {
  send(ctx, target, log, resendable(ctx));
}

/** `pooled`: on a kept-alive connection, and sent again on a new one if that one was found closed. */
function send(ctx: RequestContext, target: HopTarget, log: Log, pooled: boolean): void {
  const { req, res } = ctx;
  const hop = http.request({
    socketPath: target.socketPath,
    method: req.method,
    path: req.url,
    headers: hopRequestHeaders(ctx, target, pooled) as unknown as OutgoingHttpHeaders,
    setHost: false,
    agent: pooled ? poolFor(target.socketPath) : false,
  });
  let answered = false;
  // The client went away before the response ended: so does the hop, which the app sees.
  const onClose = () => {
    if (!res.writableFinished) hop.destroy();
  };
  res.once('close', onClose);
  hop.on('error', (err: NodeJS.ErrnoException) => {
    if (answered || res.destroyed || (res.writableEnded && !res.writableFinished)) return;
    if (ctx.upgrade?.socket.destroyed) return;
    if (pooled && hop.reusedSocket && err.code === 'ECONNRESET') {
      res.off('close', onClose);
      return send(ctx, target, log, false);
    }
    failed(ctx, target, log, err);
  });
  hop.on('continue', () => {
    if (!res.headersSent) res.writeContinue();
  });
  hop.on('response', (answer) => {
    answered = true;
    relayResponse(res, answer, ctx, target, log, hop);
  });
  if (ctx.upgrade) {
    const upgrade = ctx.upgrade;
    hop.on('upgrade', (answer, socket, head) => {
      answered = true;
      res.off('close', onClose);
      joinUpgrade(upgrade, answer, socket, head);
    });
    hop.end();
    return;
  }
  if (!hasBody(req)) {
    hop.end();
    return;
  }
  // The head goes now, not with the body's first chunk: a client that streams its body may
  // wait for the app's answer to begin (a duplex echo over HTTP/2) before it sends any.
  hop.flushHeaders();
  req.pipe(hop);
  req.once('error', () => hop.destroy());
}
