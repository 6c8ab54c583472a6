/**
 * Stage (--https-only): a request on the plain HTTP port gets 302 to the same
 * path and query on HTTPS, as mod_wsgi-express's rewrite rule does, and never
 * reaches the application. The redirect names the host the request asked for
 * (its Host, or an absolute-form target's authority) and the HTTPS port, left
 * out when it is 443. `OPTIONS *` names no resource to move: the mount stage
 * answers it on either port.
 */
import type { Stage } from './context.js';
import { sendError } from './error-response.js';
import { absoluteForm, requestHost, requestTarget, serverNameFromHost } from './request-view.js';

export function httpsOnlyStage(httpsPort: number): Stage {
  const port = httpsPort === 443 ? '' : `:${httpsPort}`;
  return (ctx, next) => {
    if (ctx.listener.scheme === 'https') return next(ctx);
    const target = requestTarget(ctx.req);
    if (target === '*') return next(ctx);
    const host = serverNameFromHost(requestHost(target, ctx.req.headers.host));
    const location = `https://${host}${port}${absoluteForm(target)?.rest ?? target}`;
    sendError(ctx.res, 302, { headers: { Location: location }, detail: `This resource is served over HTTPS, at ${location}` });
  };
}
