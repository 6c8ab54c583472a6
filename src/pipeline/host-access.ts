/**
 * Stage: --host-access-script's allowAccess(environ, host), for every request,
 * before authentication (mod_wsgi's WSGIAccessScript, run in Apache's access
 * phase). `host` is the client's IP address (mod_wsgi-express turns host name
 * lookups off): REMOTE_ADDR, so behind a trusted proxy (--trust-proxy-header)
 * the client the forwarded headers name, not the proxy. true or null/undefined: go on; false: 403; any other value or a
 * throw: 403 and an error-log line saying why.
 */
import { accessVerdict, type Access } from '../auth/contracts.js';
import { scriptEnviron, type ScriptServer } from '../auth/script-environ.js';
import { andThen, callScript } from '../auth/user-sources.js';
import { escapeField } from '../logging/access-format.js';
import type { Log } from '../logging/log.js';
import { clientTag } from './client-tag.js';
import type { Stage } from './context.js';
import { formatError, sendError } from './error-response.js';
import { requestClient, requestTarget } from './request-view.js';

export function hostAccessStage(
  allowAccess: (...args: unknown[]) => unknown,
  server: ScriptServer,
  log: Log,
): Stage {
  return (ctx, next) => {
    // Both read now: a closed socket's address is gone (Node 24), and an answer may come later.
    const host = requestClient(ctx) ?? '';
    const where = clientTag(ctx);
    const verdict = callScript(
      () => allowAccess(scriptEnviron(ctx, server, log), host),
      accessVerdict,
      (err): Access => ({ allow: false, rule: `allowAccess threw: ${formatError(err)}` }),
    );
    const done = andThen(verdict, (v) => {
      if (ctx.res.destroyed) return;
      if (v.allow) return next(ctx);
      const target = escapeField(requestTarget(ctx.req));
      if (v.rule) log.error(`${where} ${v.rule}`, ctx.id);
      else log.warn(`${where} client denied by --host-access-script for "${target}"`, ctx.id);
      sendError(ctx.res, 403);
    });
    if (done instanceof Promise) {
      done.catch((err: unknown) => {
        log.error(`request failed in the host-access stage or after it: ${formatError(err)}`, ctx.id);
        if (!sendError(ctx.res, 500)) ctx.res.destroy();
      });
    }
  };
}
