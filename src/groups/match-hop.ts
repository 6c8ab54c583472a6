/**
 * The front's hop to a pattern mount's app (--mount-app-match): the mount stage
 * chose it (ctx.matchScript); the master says where its process group serves,
 * starting it first when it is not running (the request waits for that, up to
 * --startup-timeout), and the request crosses the hop as any group's does
 * (hop-forward.ts). The master's refusals become the answer: 500 when the app
 * failed to load (the master logged why), 503 with Retry-After when it cannot
 * start now (starting too long, or --max-match-apps reached with none idle).
 */
import type { Config } from '../config/schema.js';
import type { Log } from '../logging/log.js';
import type { RequestContext } from '../pipeline/context.js';
import { sendError } from '../pipeline/error-response.js';
import { askMaster } from '../worker/master-channel.js';
import { forwardToGroup } from './hop-forward.js';

/** Past --startup-timeout, how long the master may take to say so. */
const ANSWER_GRACE_MS = 5000;

export function matchHop(config: Config, log: Log): (ctx: RequestContext, script: string) => void {
  const timeout = config.startupTimeout > 0 ? config.startupTimeout * 1000 + ANSWER_GRACE_MS : 0;
  return (ctx, script) => {
    askMaster('match-app', { script, mount: ctx.scriptName }, timeout).then(
      (answer) => {
        if ('socketPath' in answer) return forwardToGroup(ctx, { group: answer.group, socketPath: answer.socketPath, index: 0 }, log);
        const headers = answer.retryAfter !== undefined ? { 'Retry-After': String(answer.retryAfter) } : undefined;
        sendError(ctx.res, answer.status, { detail: answer.detail, ...(headers ? { headers } : {}) });
      },
      (err: Error) => {
        log.error(`${ctx.scriptName}: the master did not say where its application serves (${err.message})`, ctx.id);
        sendError(ctx.res, 503, { detail: 'The application is starting; try again shortly.', headers: { 'Retry-After': '1' } });
      },
    );
  };
}
