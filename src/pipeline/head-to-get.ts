/**
 * Stage: --map-head-to-get (mod_wsgi's WSGIMapHEADToGET). With `on` the
 * application gets GET for a HEAD, so it produces the whole GET response; the
 * client still gets no body (Node's response for a HEAD request sends none,
 * whatever is written), and the access log still shows HEAD. `auto` maps only
 * when a response filter must see the whole body to set the headers right, as
 * Apache's content filters (mod_deflate) do: responseFiltersNeedBody() says
 * whether the Config turns one on.
 */
import type { Config } from '../config/schema.js';
import type { Stage } from './context.js';

/**
 * Whether a response filter that needs the whole body is on: compression
 * (--compress-responses), as mod_deflate is in mod_wsgi-express. A HEAD then
 * gets the headers the compressed GET gets.
 */
export function responseFiltersNeedBody(config: Config): boolean {
  return config.compressResponses;
}

/** Whether HEAD requests reach the app as GET under this Config. */
export function mapsHeadToGet(config: Config): boolean {
  return config.mapHeadToGet === 'on' || (config.mapHeadToGet === 'auto' && responseFiltersNeedBody(config));
}

export const headToGet: Stage = (ctx, next) => {
  if (ctx.req.method === 'HEAD') {
    ctx.clientMethod = 'HEAD';
    ctx.req.method = 'GET';
  }
  next(ctx);
};
