/**
 * How the server presents a request to the app (environ) and to the access log,
 * in one place so the two cannot drift: the client's address, the request
 * target as sent, and the server name the client asked for.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { proxiedTls } from '../net/proxy-protocol.js';
import type { RequestContext } from './context.js';

/**
 * On the default dual-stack listener (`::`) Node reports an IPv4 client as
 * `::ffff:127.0.0.1`; Apache, and so mod_wsgi's REMOTE_ADDR, give `127.0.0.1`.
 */
export function clientAddress(address: string | undefined): string | undefined {
  if (address === undefined || !address.startsWith('::ffff:') || !address.includes('.')) return address;
  return address.slice(7);
}

/** The target as the client sent it: the node interface (and Express routers) rewrite req.url below the mount point. */
export function requestTarget(req: IncomingMessage & { originalUrl?: string }): string {
  return req.originalUrl ?? req.url ?? '/';
}

const ABSOLUTE_FORM = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/;

/**
 * An absolute-form target (`http://h:8080/x?q`, as sent to proxies; RFC 9112 3.2.2)
 * split into its authority and the origin-form rest (`/x?q`); undefined for a target
 * in any other form. The one place that parses it, for the mount stage, the node
 * interface and the environ.
 */
export function absoluteForm(target: string): { authority: string; rest: string } | undefined {
  if (target.charCodeAt(0) === 47 /* / */) return undefined;
  const m = ABSOLUTE_FORM.exec(target);
  if (m === null) return undefined;
  const rest = target.slice(m[0].length);
  return { authority: m[1]!, rest: rest.charCodeAt(0) === 47 ? rest : '/' + rest };
}

/**
 * The host a request is for: with an absolute-form target its authority, which
 * RFC 9112 3.2.2 says a server MUST use instead of Host, as Apache does;
 * otherwise the Host header.
 */
export function requestHost(target: string, hostHeader: string | undefined): string | undefined {
  const authority = absoluteForm(target)?.authority;
  return authority ? authority.slice(authority.lastIndexOf('@') + 1) : hostHeader;
}

/** SERVER_NAME (%V): the Host header's name without the port, else localhost. */
export function serverNameFromHost(host: string | undefined): string {
  if (!host) return 'localhost';
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end > 0 ? host.slice(0, end + 1) : host;
  }
  const colon = host.indexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

/** The client as the trusted-proxy rules give it (REMOTE_ADDR, %a, the node interface's req.socket). */
export function requestClient(ctx: RequestContext): string | undefined {
  return ctx.forwarded?.remoteAddr ?? clientAddress(ctx.req.socket.remoteAddress);
}

/** The scheme of the connection itself: https for TLS, or a PROXY protocol preamble saying the client used TLS. */
export function connectionScheme(socket: Socket, fallback: 'http' | 'https' = 'http'): 'http' | 'https' {
  return (socket as Socket & { encrypted?: boolean }).encrypted || proxiedTls(socket) ? 'https' : fallback;
}

/** tsgi.url_scheme: a trusted forwarded scheme wins over the connection's own (mod_wsgi). */
export function requestScheme(ctx: RequestContext, fallback: 'http' | 'https' = 'http'): 'http' | 'https' {
  return ctx.forwarded?.scheme ?? connectionScheme(ctx.req.socket, fallback);
}

/** The host the request is for, after the trusted-proxy rules: a forwarded host, else requestHost(). */
export function effectiveHost(ctx: RequestContext): string | undefined {
  return ctx.forwarded?.host ?? requestHost(requestTarget(ctx.req), ctx.req.headers.host);
}
