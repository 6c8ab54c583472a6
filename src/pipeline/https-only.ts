/**
 * Stage (--https-only): a request that did not come over HTTPS gets 302 to the
 * same path and query on HTTPS, as mod_wsgi-express's rewrite rule does, and
 * never reaches the application. The redirect names --server-name when given,
 * else the host the request asked for, and the HTTPS port (left out when it is
 * 443). "Over HTTPS" is the request's scheme as the trusted-proxy rules give it
 * (behind a TLS-terminating proxy that says https, nothing is redirected). With
 * --allow-localhost a loopback client is served over plain HTTP, as
 * mod_wsgi-express's localhost virtual host does. `OPTIONS *` names no resource
 * to move: the mount stage answers it on either port.
 */
import type { Stage } from './context.js';
import { isLoopback } from './host-names.js';
import { overHttps, redirectToHttps } from './https-redirect.js';
import { effectiveHost, requestClient, requestTarget, serverNameFromHost } from './request-view.js';

export interface HttpsOnlyRules {
  readonly httpsPort: number;
  readonly serverName?: string | undefined;
  readonly allowLocalhost: boolean;
}

export function httpsOnlyStage(rules: HttpsOnlyRules): Stage {
  return (ctx, next) => {
    if (overHttps(ctx)) return next(ctx);
    if (requestTarget(ctx.req) === '*') return next(ctx);
    if (rules.allowLocalhost && isLoopback(requestClient(ctx))) return next(ctx);
    redirectToHttps(ctx, rules.serverName ?? serverNameFromHost(effectiveHost(ctx)), rules.httpsPort);
  };
}
