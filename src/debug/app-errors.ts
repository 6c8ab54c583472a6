/**
 * Where the interfaces report an exception of the application's (with the phase
 * it came from), for the tools that keep it: the recorder writes it beside the
 * request. A no-op until a tool listens; called on the error path only.
 */
import type { ServerResponse } from 'node:http';

/** mod_wsgi's three places: the application call, producing its body, its close(). */
export type AppPhase = 'call' | 'body' | 'close';

type Listener = (res: ServerResponse, err: unknown, phase: AppPhase) => void;

let listener: Listener | undefined;

export function listenToAppErrors(fn: Listener): void {
  listener = fn;
}

export function noteAppError(res: ServerResponse, err: unknown, phase: AppPhase): void {
  listener?.(res, err, phase);
}
