/**
 * The request's AbortSignal, for every interface: `tsgi.signal` in the environ,
 * `Request.signal` for fetch apps. It aborts when the request is abandoned
 * before the application has finished it: the client went away before the
 * response was complete, or the server gave up on it (--request-timeout).
 * Made on first read: an AbortController and a 'close' listener per request
 * cost a hello world several per cent, and few applications read the signal.
 */
import type { ServerResponse } from 'node:http';

const CONTROLLER = Symbol('tsgi-express.abort-controller');
const ABANDONED = Symbol('tsgi-express.abandoned');

interface Marked {
  [CONTROLLER]?: AbortController;
  [ABANDONED]?: Error;
}

/** Thrown into nobody: the reason an abandoned request's signal carries. */
export class RequestTimeoutError extends Error {
  constructor(seconds: number) {
    super(`the request ran longer than --request-timeout ${seconds}s`);
    this.name = 'RequestTimeoutError';
  }
}

function clientGone(): Error {
  return new Error('the client closed the connection');
}

/** The signal of the request `res` answers. */
export function requestSignal(res: ServerResponse): AbortSignal {
  const marked = res as ServerResponse & Marked;
  let controller = marked[CONTROLLER];
  if (controller) return controller.signal;
  controller = marked[CONTROLLER] = new AbortController();
  const reason = marked[ABANDONED];
  if (reason) controller.abort(reason);
  else if (res.writableFinished) {
    // answered: nothing left to abort
  } else if (res.closed) controller.abort(clientGone());
  else {
    const c = controller;
    res.once('close', () => {
      if (!res.writableFinished) c.abort(marked[ABANDONED] ?? clientGone());
    });
  }
  return controller.signal;
}

/** The server gives up on the request: its signal aborts (now, or when first read). */
export function abandon(res: ServerResponse, reason: Error): void {
  const marked = res as ServerResponse & Marked;
  marked[ABANDONED] = reason;
  marked[CONTROLLER]?.abort(reason);
}

/** Whether the server gave up on this request; the application's answer, if it comes, is dropped. */
export function isAbandoned(res: ServerResponse): boolean {
  return (res as ServerResponse & Marked)[ABANDONED] !== undefined;
}
