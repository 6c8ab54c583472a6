/**
 * --https-only's redirect, shared by its own stage (https-only.ts) and the
 * host-name stage, which gives the parent domain of a `www.` name the same 302
 * over plain HTTP (mod_wsgi-express's rewrite rule covers both, §2.13).
 */
import type { RequestContext } from './context.js';
import { sendError } from './error-response.js';
import { absoluteForm, requestScheme, requestTarget } from './request-view.js';

/** Whether the request came over HTTPS, as the trusted-proxy rules give its scheme. */
export function overHttps(ctx: RequestContext): boolean {
  return requestScheme(ctx, ctx.listener.scheme) === 'https';
}

/** Answers 302 to the same path and query on `https://host` and the HTTPS port (left out when it is 443). */
export function redirectToHttps(ctx: RequestContext, host: string, httpsPort: number): void {
  const target = requestTarget(ctx.req);
  const location = `https://${host}${httpsPort === 443 ? '' : `:${httpsPort}`}${absoluteForm(target)?.rest ?? target}`;
  sendError(ctx.res, 302, { headers: { Location: location }, detail: `This resource is served over HTTPS, at ${location}` });
}
