/**
 * The worker's own connection to its V8 inspector (node:inspector's in-process
 * Session), shared by the debugging tools: the debugger's pause setting, the
 * CPU profiler and coverage. Connected on first use. Calls on a main-thread
 * session are answered before `post` returns, which is what lets the profile
 * and the coverage be taken on the way out.
 */
import { Session } from 'node:inspector';

let session: Session | undefined;

function connected(): Session {
  if (session === undefined) {
    session = new Session();
    session.connect();
  }
  return session;
}

/** Sends one Chrome DevTools Protocol command and returns its result. */
export function post<T = unknown>(method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => {
    connected().post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result as T)));
  });
}

/** Fire and forget, for commands whose answer says nothing (the pause setting, on every request). */
export function postNow(method: string, params?: object): void {
  connected().post(method, params ?? {});
}

/**
 * The same, for the way out (a process 'exit' handler, a drain's last step): on
 * the main thread the session answers before `post` returns, so this needs no
 * turn of the event loop.
 */
export function postSync<T = unknown>(method: string, params?: object): T {
  let answered = false;
  let failure: Error | null = null;
  let value: unknown;
  connected().post(method, params ?? {}, (err, result) => {
    answered = true;
    failure = err;
    value = result;
  });
  if (!answered) throw new Error(`the inspector did not answer ${method} at once`);
  if (failure) throw failure;
  return value as T;
}
