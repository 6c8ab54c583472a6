/**
 * Stage (--hsts-policy): `Strict-Transport-Security` on every response to an
 * HTTPS request, the server's own answers included. Browsers ignore the header
 * over plain HTTP (RFC 6797 8.1), so it is never sent there.
 */
import type { Stage } from './context.js';

export function hstsStage(policy: string): Stage {
  return (ctx, next) => {
    if (ctx.listener.scheme === 'https') ctx.res.setHeader('Strict-Transport-Security', policy);
    next(ctx);
  };
}
