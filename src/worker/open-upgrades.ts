/**
 * The connections upgrade requests turned into (WebSockets, proxied tunnels). A
 * draining worker keeps them until they close or its deadline; then each is
 * closed politely, a WebSocket with 1001 "going away" so that its client
 * reconnects, to a new worker, and the worker waits a moment for the closing
 * handshakes before it exits.
 */
import type { Duplex } from 'node:stream';
import { CLOSE_UPGRADE } from '../adapters/upgrade.js';

/** RFC 6455 7.4.1: the endpoint is going away (a server going down, a reload). */
export const GOING_AWAY = 1001;

type Closer = (code: number) => void;

interface WsLike {
  close(code?: number, reason?: string): void;
  readyState: number;
}

/**
 * The `ws` library (behind socket.io, @fastify/websocket, Nest's ws adapter,
 * @hono/node-ws, crossws and our own fetch WebSockets) keeps its WebSocket on
 * the socket under a symbol of its own, `Symbol('websocket')`.
 */
function wsOf(socket: Duplex): WsLike | undefined {
  for (const key of Object.getOwnPropertySymbols(socket)) {
    if (key.description !== 'websocket') continue;
    const value = (socket as unknown as Record<symbol, unknown>)[key] as Partial<WsLike> | undefined;
    if (value && typeof value.close === 'function' && typeof value.readyState === 'number') return value as WsLike;
  }
  return undefined;
}

export class OpenUpgrades {
  private readonly sockets = new Set<Duplex>();

  add(socket: Duplex): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  get size(): number {
    return this.sockets.size;
  }

  /** Closes every open one; resolves when all have closed, or after `waitMs` (the rest are destroyed). */
  closeAll(code: number, waitMs: number): Promise<void> {
    if (this.sockets.size === 0) return Promise.resolve();
    for (const socket of this.sockets) {
      const own = (socket as unknown as Record<symbol, Closer | undefined>)[CLOSE_UPGRADE];
      const ws = own ? undefined : wsOf(socket);
      try {
        if (own) own(code);
        else if (ws && ws.readyState === 1) ws.close(code, 'server going away');
        else socket.destroy();
      } catch {
        socket.destroy();
      }
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const socket of this.sockets) socket.destroy();
        resolve();
      }, waitMs);
      const check = () => {
        if (this.sockets.size > 0) return;
        clearTimeout(timer);
        resolve();
      };
      for (const socket of this.sockets) socket.once('close', () => setImmediate(check));
    });
  }
}
