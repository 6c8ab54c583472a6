/**
 * tsgi.errors for the fetch and node environs. Most requests never write to it,
 * so the real stream (tsgi/errors-stream.ts) and its flush at request end are set
 * up on the first write only; until then it is one small object, no closures.
 */
import type { ErrorStream } from '../index.js';
import type { RequestContext } from '../pipeline/context.js';
import type { Log } from '../logging/log.js';
import { createErrorStream } from '../tsgi/errors-stream.js';

class RequestErrors implements ErrorStream {
  #ctx: RequestContext;
  #log: Log;
  #stream: ErrorStream | undefined = undefined;

  constructor(ctx: RequestContext, log: Log) {
    this.#ctx = ctx;
    this.#log = log;
  }

  #open(): ErrorStream {
    if (this.#stream === undefined) {
      const created = createErrorStream(this.#log, this.#ctx.id);
      this.#ctx.res.once('close', () => created.flush());
      this.#stream = created;
    }
    return this.#stream;
  }

  // Methods, as on the TSGI interface's stream (tsgi/errors-stream.ts): called on the object.
  write(text: string): void {
    this.#open().write(text);
  }

  flush(): void {
    this.#stream?.flush();
  }
}

export function requestErrors(ctx: RequestContext, log: Log): ErrorStream {
  return new RequestErrors(ctx, log);
}
