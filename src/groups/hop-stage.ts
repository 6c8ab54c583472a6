/**
 * Stage (front workers only): a request for an application another process
 * group serves (config/groups.ts) leaves the pipeline here for that group, after
 * every front stage has run (host names, access control, static files, limits;
 * the access log and metrics see its answer) and before admission: it takes none
 * of the front's --threads, its group's own threads queue it. So does a request
 * a pattern mount chose (match-hop.ts).
 */
import { hopTargets } from '../config/groups.js';
import type { Config } from '../config/schema.js';
import type { Log } from '../logging/log.js';
import type { Stage } from '../pipeline/context.js';
import { forwardToGroup } from './hop-forward.js';
import { matchHop } from './match-hop.js';

export function groupHopStage(config: Config, log: Log): Stage | undefined {
  const targets = hopTargets(config);
  const toMatchApp = config.mountAppMatch.length > 0 && config.servesGroup === undefined ? matchHop(config, log) : undefined;
  if (!targets.some((t) => t !== undefined) && toMatchApp === undefined) return undefined;
  return (ctx, next) => {
    if (ctx.matchScript !== undefined && toMatchApp !== undefined) return toMatchApp(ctx, ctx.matchScript);
    const target = ctx.outsideMount ? undefined : targets[ctx.appIndex ?? 0];
    if (target === undefined) return next(ctx);
    forwardToGroup(ctx, target, log);
  };
}
