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
import { sendError } from './error-response.js';
import { isLoopback } from './host-names.js';
import { absoluteForm, effectiveHost, requestClient, requestScheme, requestTarget, serverNameFromHost } from './request-view.js';

export interface HttpsOnlyRules {
  readonly httpsPort: number;
  readonly serverName?: string | undefined;
  readonly allowLocalhost: boolean;
}

export function httpsOnlyStage(rules: HttpsOnlyRules): Stage {
  const port = rules.httpsPort === 443 ? '' : `:${rules.httpsPort}`;
  return (ctx, next) => {
    if (requestScheme(ctx, ctx.listener.scheme) === 'https') return next(ctx);
    const target = requestTarget(ctx.req);
    if (target === '*') return next(ctx);
    if (rules.allowLocalhost && isLoopback(requestClient(ctx))) return next(ctx);
    const host = rules.serverName ?? serverNameFromHost(effectiveHost(ctx));
    const location = `https://${host}${port}${absoluteForm(target)?.rest ?? target}`;
    sendError(ctx.res, 302, { headers: { Location: location }, detail: `This resource is served over HTTPS, at ${location}` });
  };
}
