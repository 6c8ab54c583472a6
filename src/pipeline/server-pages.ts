/**
 * Stage: the pages the server answers itself on the main port, /server-status
 * (--server-status) and --metrics-path, from the master's figures for the whole
 * pool (the worker that gets the request asks; a correlated question over IPC).
 * After access control, so authentication applies as to any page of the site,
 * and before admission: a status page must answer when every --threads slot is
 * taken, which is when it is needed.
 *
 * Only loopback clients and --server-status-allow blocks get them (others 403),
 * as mod_wsgi-express's `Require host localhost`. The client is the one the
 * trusted-proxy rules give (request-view.ts), not the peer: behind a proxy on
 * the same machine every peer is loopback, and the page would be everyone's.
 */
import type { PoolReport } from '../ipc/messages.js';
import type { Log } from '../logging/log.js';
import { TrustedProxies } from '../net/trusted-proxies.js';
import { prometheusText, PROMETHEUS_CONTENT_TYPE } from '../status/prometheus.js';
import { statusAuto, statusForm, statusHtml, statusJson } from '../status/status-page.js';
import type { RequestContext, Stage } from './context.js';
import { sendError } from './error-response.js';
import { isLoopback } from './host-names.js';
import { requestClient } from './request-view.js';

export interface ServerPagesSetup {
  /** `/server-status` with --server-status. */
  readonly statusPath?: string | undefined;
  readonly metricsPath?: string | undefined;
  readonly allow: readonly string[];
  /** The name shown on the page (the server's host name). */
  readonly serverName: string;
  readonly threads: number;
  /** Asks the master for its report on the pool. */
  readonly pool: () => Promise<PoolReport>;
  readonly log: Log;
}

export function send(ctx: RequestContext, type: string, body: string): void {
  const { req, res } = ctx;
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Answers with what `render` makes of the master's report; 503 when the master does not answer. */
export function answerFromPool(ctx: RequestContext, setup: Pick<ServerPagesSetup, 'pool' | 'log'>, render: (report: PoolReport) => [type: string, body: string]): void {
  setup.pool().then(
    (report) => {
      if (ctx.res.destroyed) return;
      const [type, body] = render(report);
      send(ctx, type, body);
    },
    (err: unknown) => {
      setup.log.warn(`${ctx.req.url}: the master did not answer (${err instanceof Error ? err.message : String(err)})`, ctx.id);
      sendError(ctx.res, 503, { headers: { 'Retry-After': '1' }, detail: 'The server could not gather its figures. Please retry shortly.' });
    },
  );
}

export function methodAllowed(ctx: RequestContext): boolean {
  if (ctx.req.method === 'GET' || ctx.req.method === 'HEAD') return true;
  sendError(ctx.res, 405, { headers: { Allow: 'GET, HEAD' } });
  return false;
}

export function serverPagesStage(setup: ServerPagesSetup): Stage {
  const allow = new TrustedProxies(setup.allow);
  const allowed = (ctx: RequestContext) => {
    const client = requestClient(ctx);
    return isLoopback(client) || (client !== undefined && allow.listed(client));
  };
  return (ctx, next) => {
    const path = ctx.scriptName + ctx.pathInfo;
    const status = path === setup.statusPath;
    if (!status && path !== setup.metricsPath) return next(ctx);
    if (!allowed(ctx)) {
      setup.log.info(`403 for ${requestClient(ctx) ?? '-'}: ${path} is for loopback clients and --server-status-allow blocks only`, ctx.id);
      return void sendError(ctx.res, 403);
    }
    if (!methodAllowed(ctx)) return;
    if (!status) return answerFromPool(ctx, setup, (report) => [PROMETHEUS_CONTENT_TYPE, prometheusText(report)]);
    const form = statusForm(ctx.queryString);
    answerFromPool(ctx, setup, (report) => {
      if (form.form === 'json') return ['application/json', JSON.stringify(statusJson(report, setup.serverName), null, 2) + '\n'];
      if (form.form === 'auto') return ['text/plain; charset=utf-8', statusAuto(report, setup.serverName, setup.threads)];
      return ['text/html; charset=utf-8', statusHtml(report, setup.serverName, form.refresh)];
    });
  };
}
