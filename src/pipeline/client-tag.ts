/**
 * `[client ADDR:PORT]`, the way access control's log lines name a client (the
 * fail2ban filter in templates/fail2ban reads it from failed logins).
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { RequestContext } from './context.js';
import { clientAddress, requestClient } from './request-view.js';

const CLIENT = Symbol('tsgi.clientTag');

/**
 * Made once per request, as it enters access control: a failed login answered
 * after the client hung up (a slow check, a guessing client that gives up) must
 * still name it, and on Node 24 a closed socket's address is gone.
 *
 * ADDR is REMOTE_ADDR: behind a trusted proxy (--trust-proxy-header), the client
 * it names, so that fail2ban bans the guesser, not the proxy; but only when that
 * is an IP address. A forwarded value that is not one (the leftmost
 * X-Forwarded-For entry is the client's own to write when every peer is trusted)
 * gives way to the peer's, so that no client can write a log line that makes
 * fail2ban ban someone else. PORT stays the connection's, as Apache's
 * mod_remoteip leaves it.
 */
export function clientTag(ctx: RequestContext): string {
  const req = ctx.req as IncomingMessage & { [CLIENT]?: string };
  if (req[CLIENT] !== undefined) return req[CLIENT];
  const forwarded = requestClient(ctx);
  const addr = forwarded !== undefined && isIP(forwarded) ? forwarded : clientAddress(req.socket.remoteAddress);
  return (req[CLIENT] = `[client ${addr ?? '-'}:${req.socket.remotePort ?? '-'}]`);
}
