/**
 * tsgi.errors for the fetch and node environs. Most requests never write to it,
 * so the real stream (tsgi/errors-stream.ts) and its flush at request end are set
 * up on the first write only.
 */
import type { ErrorStream } from '../index.js';
import type { RequestContext } from '../pipeline/context.js';
import type { Log } from '../logging/log.js';
import { createErrorStream } from '../tsgi/errors-stream.js';

export function requestErrors(ctx: RequestContext, log: Log): ErrorStream {
  let stream: ErrorStream | undefined;
  const open = (): ErrorStream => {
    if (stream === undefined) {
      const created = createErrorStream(log, ctx.id);
      ctx.res.once('close', () => created.flush());
      stream = created;
    }
    return stream;
  };
  return {
    write: (text: string) => open().write(text),
    flush: () => stream?.flush(),
  };
}
