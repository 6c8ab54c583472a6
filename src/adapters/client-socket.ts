/**
 * What node apps (and Hono's Node helpers, through environ.incoming) read the
 * client from: req.socket. Express's req.ip and req.protocol, Koa's ctx.ip and
 * ctx.protocol, Fastify and Hono's getConnInfo all read `socket.remoteAddress`
 * and `socket.encrypted` when the app has not set up proxy trust of its own. So
 * when the trusted-proxy rules name a client or a scheme other than the
 * connection's, req.socket becomes a view of the real socket that reports them:
 * those frameworks then give the right answer with no setting of their own.
 *
 * Per request, not per connection: a proxy's keep-alive connection carries
 * requests for many clients. Everything else goes to the real socket; methods
 * run on it, so Node's own handling of the connection is unchanged.
 */
import { isIPv4, isIPv6, type Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { UNDERLYING_SOCKET } from '../net/proxy-protocol.js';
import type { Forwarded } from '../pipeline/context.js';

function overridesOf(socket: Socket, forwarded: Forwarded): Map<PropertyKey, unknown> | undefined {
  const overrides = new Map<PropertyKey, unknown>();
  const address = forwarded.remoteAddr;
  if (address !== undefined) {
    overrides.set('remoteAddress', address);
    overrides.set('remoteFamily', isIPv4(address) ? 'IPv4' : isIPv6(address) ? 'IPv6' : socket.remoteFamily);
  }
  if (forwarded.scheme !== undefined) overrides.set('encrypted', forwarded.scheme === 'https');
  return overrides.size > 0 ? overrides : undefined;
}

export function socketView(socket: Socket, forwarded: Forwarded): Socket {
  const overrides = overridesOf(socket, forwarded);
  return overrides === undefined ? socket : socketWith(socket, overrides);
}

/** A view of the socket that answers `overrides`' keys itself; the rest (methods bound) is the socket's. */
export function socketWith(socket: Socket, overrides: ReadonlyMap<PropertyKey, unknown>): Socket {
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(socket, {
    get(target, key) {
      if (overrides.has(key)) return overrides.get(key);
      if (key === UNDERLYING_SOCKET) return target;
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      let method = bound.get(key);
      if (method === undefined) bound.set(key, (method = (value as (...args: unknown[]) => unknown).bind(target)));
      return method;
    },
    set(target, key, value) {
      return Reflect.set(target, key, value, target);
    },
  });
}

/** Gives a node request the socket view, once; nothing changes when the rules changed neither client nor scheme. */
export function presentClient(req: IncomingMessage, forwarded: Forwarded | undefined): void {
  if (forwarded === undefined) return;
  req.socket = socketView(req.socket, forwarded);
}
