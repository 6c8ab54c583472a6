/**
 * Stage, just before the application: `100 Continue` for a request that asked
 * for it (`Expect: 100-continue`). Node sends it as soon as it has the head
 * unless the server handles 'checkContinue' itself, which the worker does
 * (worker/connection-settings.ts): so a request refused on its head (413 for its
 * Content-Length, 404, 503 from the queue) is refused before the client sends
 * the body, as Apache does, and a request that waits in the queue is told to go
 * on only once the application is about to take it.
 */
import type { ServerResponse } from 'node:http';
import type { Stage } from './context.js';

const EXPECTS_CONTINUE = Symbol('tsgi-express.expects-continue');

type Expecting = ServerResponse & { [EXPECTS_CONTINUE]?: true };

/** Marks a response whose request the server got through 'checkContinue'. */
export function expectsContinue(res: ServerResponse): void {
  (res as Expecting)[EXPECTS_CONTINUE] = true;
}

export const expectContinue: Stage = (ctx, next) => {
  const res = ctx.res as Expecting;
  if (res[EXPECTS_CONTINUE] === true && !res.headersSent) res.writeContinue();
  next(ctx);
};
