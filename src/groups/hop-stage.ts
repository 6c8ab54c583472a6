/**
 * Stage (front workers only): a request for an application another process
 * group serves (config/groups.ts) leaves the pipeline here for that group, after
 * every front stage has run (host names, access control, static files, limits;
 * the access log and metrics see its answer) and before admission: it takes none
 * of the front's --threads, its group's own threads queue it.
 */
import { hopTargets } from '../config/groups.js';
import type { Config } from '../config/schema.js';
import type { Log } from '../logging/log.js';
import type { Stage } from '../pipeline/context.js';
import { forwardToGroup } from './hop-forward.js';

export function groupHopStage(config: Config, log: Log): Stage | undefined {
  const targets = hopTargets(config);
  if (!targets.some((t) => t !== undefined)) return undefined;
  return (ctx, next) => {
    const target = ctx.outsideMount ? undefined : targets[ctx.appIndex ?? 0];
    if (target === undefined) return next(ctx);
    forwardToGroup(ctx, target, log);
  };
}
