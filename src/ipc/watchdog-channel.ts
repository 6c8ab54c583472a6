/**
 * The watchdog channel (--deadlock-timeout): an extra pipe between the master
 * and each worker, fd 4 in the worker, read by the worker's watchdog thread
 * (worker/watchdog-thread.ts) rather than by its main thread, so that it works
 * when the main thread is stuck. The master writes `stack\n`; the thread answers
 * one JSON line, `{"stack": "..."}` or `{"error": "..."}`.
 */
export const WATCHDOG_FD = 4;
export const WATCHDOG_FD_ENV = 'TSGI_EXPRESS_WATCHDOG_FD';

export interface WatchdogAnswer {
  readonly stack?: string;
  readonly error?: string;
}
