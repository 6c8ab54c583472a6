/**
 * --enable-debugger's post-mortem: application code (the call, each step of its
 * body, its close()) is called through `guard.call` so that an exception the
 * application does not catch itself makes an attached debugger pause at the
 * throw, with the exception and the application's frame on the stack, before
 * the server answers 500. mod_wsgi-express does the same with pdb.
 *
 * V8 pauses on an exception it predicts uncaught when the debugger's "pause on
 * uncaught exceptions" is on. The server catches every exception the
 * application throws (it must answer 500), so a plain try/catch or a promise
 * reject handler around the call would make V8 predict every one of them
 * caught. Instead:
 * - the call runs inside a Promise executor: a synchronous throw rejects a
 *   promise that has no handler yet, which V8 predicts uncaught;
 * - a promise the call returns (an async function, an async iterator's next())
 *   gets a fulfilment handler only; its rejection is then unhandled, again
 *   predicted uncaught at the throw, and reaches the server through Node's
 *   'unhandledRejection' event, matched by the promise.
 * An exception the application catches itself is predicted caught as before,
 * and does not pause. The setting ("pause on uncaught") is V8's, one for the
 * whole isolate, and a debugger sets it when it attaches (DevTools and VS Code
 * send "none" by default): so it is set again, through the worker's own
 * inspector session, each time application code is entered. Without a
 * debugger attached, V8 does not stop and the request is answered as usual.
 */
import { postNow } from './inspector-session.js';

export type OnValue<T> = (value: T) => void;
export type OnError = (err: unknown) => void;

export interface AppGuard {
  /** Calls `fn`; its value (awaited when it is a promise) goes to onValue, its exception or rejection to onError. */
  call<T>(fn: () => T, onValue: OnValue<Awaited<T>>, onError: OnError): void;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null &&
    typeof (value as { then?: unknown }).then === 'function';
}

/** Derived promises whose rejection is an application's error, and whom to tell. */
const watched = new WeakMap<Promise<unknown>, OnError>();
let listening = false;

function listen(): void {
  if (listening) return;
  listening = true;
  process.on('unhandledRejection', (reason, promise) => {
    const onError = watched.get(promise);
    if (onError !== undefined) {
      watched.delete(promise);
      return onError(reason);
    }
    // Not ours. Without a listener Node would raise it as an uncaught exception
    // (the worker's crash report); keep that, unless the application listens itself.
    if (process.listenerCount('unhandledRejection') === 1) throw reason;
  });
}

class PostMortemGuard implements AppGuard {
  call<T>(fn: () => T, onValue: OnValue<Awaited<T>>, onError: OnError): void {
    postNow('Debugger.setPauseOnExceptions', { state: 'uncaught' });
    let returned = false;
    let value: T | undefined;
    const called = new Promise<void>((resolve) => {
      value = fn();
      returned = true;
      resolve();
    });
    // It threw (and an attached debugger has paused and been resumed): now it may be handled.
    if (!returned) return void called.then(undefined, onError);
    if (!isThenable(value)) return onValue(value as Awaited<T>);
    const derived = Promise.resolve(value).then(onValue as (v: unknown) => void);
    watched.set(derived, onError);
  }
}

/** The guard for --enable-debugger; enables the worker's session's debugger agent once. */
export function postMortemGuard(): AppGuard {
  listen();
  postNow('Debugger.enable');
  return new PostMortemGuard();
}
