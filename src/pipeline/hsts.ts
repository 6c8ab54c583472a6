/**
 * Stage (--hsts-policy): `Strict-Transport-Security` on every response to a
 * request that came over TLS (to this server, or to the proxy a PROXY protocol
 * preamble speaks for), the server's own answers included. Browsers ignore the
 * header over plain HTTP (RFC 6797 8.1), so it is never sent there. Behind a
 * proxy that terminates TLS itself, the proxy sends it (docs/https.md).
 */
import type { Stage } from './context.js';
import { connectionScheme } from './request-view.js';

export function hstsStage(policy: string): Stage {
  return (ctx, next) => {
    if (connectionScheme(ctx.req.socket, ctx.listener.scheme) === 'https') ctx.res.setHeader('Strict-Transport-Security', policy);
    next(ctx);
  };
}
