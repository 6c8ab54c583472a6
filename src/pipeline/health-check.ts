/**
 * Stage (--health-check-path): the server answers its health path itself, for
 * load balancers, Docker's HEALTHCHECK and Kubernetes' probes: 200 while it
 * serves, 503 while it starts (the first generation not all ready yet) or
 * stops (from SIGTERM on, through --drain-delay). Before the host-name checks
 * and access control (a probe sends neither a known Host nor credentials) and
 * before admission (a busy worker is not an unhealthy one).
 */
import type { ServerPhase } from '../ipc/messages.js';
import type { Stage } from './context.js';

/** Where the server is; the worker updates it from the master's `phase` messages. */
export interface PhaseView {
  readonly phase: ServerPhase;
}

const WORDS: Record<ServerPhase, string> = { starting: 'starting\n', serving: 'ready\n', stopping: 'draining\n' };

export function healthCheckStage(path: string, server: PhaseView): Stage {
  return (ctx, next) => {
    const url = ctx.req.url ?? '/';
    if (!url.startsWith(path) || (url.length > path.length && url.charCodeAt(path.length) !== 63 /* ? */)) return next(ctx);
    const { req, res } = ctx;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Length': 0 });
      res.end();
      return;
    }
    const body = WORDS[server.phase];
    res.writeHead(server.phase === 'serving' ? 200 : 503, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': body.length,
      'Cache-Control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
