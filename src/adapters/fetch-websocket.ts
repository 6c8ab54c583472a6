/**
 * WebSockets for fetch apps, in the shape Bun defined and crossws, Hono's Bun
 * helper and srvx-style apps export:
 *
 *     export default {
 *       fetch(request, server) {
 *         if (server.upgrade(request, { data: { user: 'ann' } })) return;
 *         return new Response('not a WebSocket', { status: 426 });
 *       },
 *       websocket: { open(ws) {}, message(ws, message) { ws.send(message) }, close(ws, code, reason) {} },
 *     };
 *
 * The second argument, the environ, has `upgrade(request, { data, headers })`:
 * true for a WebSocket handshake that got through the pipeline (the connection is
 * then the app's, and whatever fetch returns is ignored), false otherwise. The
 * WebSocket protocol itself is the `ws` library's, loaded only for such apps.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Environ } from '../index.js';
import type { RequestContext } from '../pipeline/context.js';
import { formatError } from '../pipeline/error-response.js';
import { clientAddress } from '../pipeline/request-view.js';
import type { FetchExtension } from './fetch.js';
import type { InterfaceOptions } from './options.js';
import { takeOver } from './upgrade.js';

type Handler = (...args: never[]) => unknown;

/** The `websocket` export: Bun's handler object. */
export interface WebSocketHandlers {
  open?: Handler;
  message?: Handler;
  close?: Handler;
  drain?: Handler;
  ping?: Handler;
  pong?: Handler;
  /** Bun's name; 16 MiB by default, as in Bun. */
  maxPayloadLength?: number;
  perMessageDeflate?: boolean | object;
  publishToSelf?: boolean;
}

interface UpgradeOptions {
  data?: unknown;
  headers?: ConstructorParameters<typeof Headers>[0];
}

type Message = string | Buffer;

/** Subscribers per topic, within this worker process. */
class Topics {
  private readonly topics = new Map<string, Set<ServerWebSocket>>();

  subscribe(topic: string, ws: ServerWebSocket): void {
    let set = this.topics.get(topic);
    if (!set) this.topics.set(topic, (set = new Set()));
    set.add(ws);
  }

  unsubscribe(topic: string, ws: ServerWebSocket): void {
    const set = this.topics.get(topic);
    if (!set) return;
    set.delete(ws);
    if (set.size === 0) this.topics.delete(topic);
  }

  has(topic: string, ws: ServerWebSocket): boolean {
    return this.topics.get(topic)?.has(ws) ?? false;
  }

  leaveAll(ws: ServerWebSocket): void {
    for (const topic of [...this.topics.keys()]) this.unsubscribe(topic, ws);
  }

  publish(topic: string, message: Message | ArrayBuffer | ArrayBufferView, except?: ServerWebSocket): number {
    let sent = 0;
    for (const ws of this.topics.get(topic) ?? []) {
      if (ws !== except) sent += Math.max(0, ws.send(message));
    }
    return sent;
  }
}

function toSendable(data: Message | ArrayBuffer | ArrayBufferView): string | Buffer {
  if (typeof data === 'string' || Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Bun's ServerWebSocket, over a `ws` WebSocket. */
export class ServerWebSocket {
  binaryType: 'nodebuffer' | 'arraybuffer' | 'uint8array' = 'nodebuffer';

  constructor(
    private readonly ws: WebSocket,
    readonly data: unknown,
    readonly remoteAddress: string,
    private readonly topics: Topics,
    private readonly publishToSelf: boolean,
  ) {}

  get readyState(): number {
    return this.ws.readyState;
  }

  /** Bytes queued (Bun: bytes sent; -1 under backpressure; 0 when closed). */
  send(data: Message | ArrayBuffer | ArrayBufferView, compress?: boolean): number {
    if (this.ws.readyState !== 1) return 0;
    const payload = toSendable(data);
    this.ws.send(payload, { compress: compress ?? false, binary: typeof payload !== 'string' });
    return this.ws.bufferedAmount > 16 * 1024 * 1024 ? -1 : Buffer.byteLength(payload);
  }

  sendText(data: string, compress?: boolean): number {
    return this.send(data, compress);
  }

  sendBinary(data: ArrayBuffer | ArrayBufferView, compress?: boolean): number {
    return this.send(data, compress);
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }

  ping(data?: Message): void {
    this.ws.ping(data);
  }

  pong(data?: Message): void {
    this.ws.pong(data);
  }

  subscribe(topic: string): void {
    this.topics.subscribe(topic, this);
  }

  unsubscribe(topic: string): void {
    this.topics.unsubscribe(topic, this);
  }

  isSubscribed(topic: string): boolean {
    return this.topics.has(topic, this);
  }

  /** To the other subscribers in this worker process (and this one with publishToSelf). */
  publish(topic: string, data: Message | ArrayBuffer | ArrayBufferView): number {
    return this.topics.publish(topic, data, this.publishToSelf ? undefined : this);
  }

  cork<T>(callback: (ws: this) => T): T {
    return callback(this);
  }

  getBufferedAmount(): number {
    return this.ws.bufferedAmount;
  }
}

function isWebSocketHandshake(req: IncomingMessage): boolean {
  return req.method === 'GET' && (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

function headerLines(headers: ConstructorParameters<typeof Headers>[0] | undefined): string[] {
  if (headers === undefined) return [];
  const lines: string[] = [];
  new Headers(headers).forEach((value, name) => lines.push(`${name}: ${value}`));
  return lines;
}

/** environ.upgrade and friends for a fetch app with a `websocket` export. */
export function websocketExtension(handlers: WebSocketHandlers, opts: InterfaceOptions): FetchExtension {
  const { log } = opts;
  const topics = new Topics();
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: handlers.maxPayloadLength ?? 16 * 1024 * 1024,
    perMessageDeflate: handlers.perMessageDeflate ?? false,
  });
  const extraHeaders = new WeakMap<IncomingMessage, string[]>();
  wss.on('headers', (headers: string[], req: IncomingMessage) => headers.push(...(extraHeaders.get(req) ?? [])));
  const pending = new WeakMap<RequestContext, UpgradeOptions>();

  const call = (name: keyof WebSocketHandlers, ctx: RequestContext, ...args: unknown[]) => {
    const fn = handlers[name];
    if (typeof fn !== 'function') return;
    const fail = (err: unknown) => log.error(`websocket.${name} failed: ${formatError(err)}`, ctx.id);
    try {
      const result = Reflect.apply(fn, handlers, args) as unknown;
      if (result instanceof Promise) result.catch(fail);
    } catch (err) {
      fail(err);
    }
  };

  const open = (ctx: RequestContext, ws: WebSocket, options: UpgradeOptions, socket: Duplex) => {
    const remote = clientAddress(ctx.req.socket.remoteAddress) ?? '';
    const sws = new ServerWebSocket(ws, options.data, remote, topics, handlers.publishToSelf === true);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      call('message', ctx, sws, isBinary ? buffer : buffer.toString('utf8'));
    });
    ws.on('ping', (data: Buffer) => call('ping', ctx, sws, data));
    ws.on('pong', (data: Buffer) => call('pong', ctx, sws, data));
    ws.on('error', (err: Error) => log.info(`websocket error: ${err.message}`, ctx.id));
    ws.on('close', (code: number, reason: Buffer) => {
      topics.leaveAll(sws);
      call('close', ctx, sws, code, reason.toString('utf8'));
    });
    socket.on('drain', () => call('drain', ctx, sws));
    call('open', ctx, sws);
  };

  return {
    decorate(environ: Environ, ctx: RequestContext, request: Request) {
      environ.upgrade = (req: Request, options?: UpgradeOptions) => {
        if (req !== request || ctx.upgrade === undefined || !isWebSocketHandshake(ctx.req) || pending.has(ctx)) return false;
        pending.set(ctx, options ?? {});
        return true;
      };
      environ.publish = (topic: string, data: Message) => topics.publish(topic, data);
      environ.requestIP = () => {
        const socket = ctx.req.socket;
        return { address: clientAddress(socket.remoteAddress), family: socket.remoteFamily, port: socket.remotePort };
      };
    },
    took(ctx: RequestContext) {
      const options = pending.get(ctx);
      if (options === undefined) return false;
      pending.delete(ctx);
      const { socket, head } = takeOver(ctx);
      extraHeaders.set(ctx.req, headerLines(options.headers));
      wss.handleUpgrade(ctx.req, socket, head, (ws) => open(ctx, ws, options, socket));
      return true;
    },
  };
}
