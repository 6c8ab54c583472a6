/**
 * Starts the watchdog thread (watchdog-thread.ts) when the master opened a
 * watchdog channel for this worker: --deadlock-timeout given explicitly
 * (Config.deadlockStacks). It costs the worker a thread with its own V8 isolate
 * (+11 MB on Node 20, +13 MB at Ready and +16 MB at peak on Node 24 for the hello
 * app), so it is not there by default; it cannot be started on demand, since the
 * demand comes when the main thread is stuck.
 */
import { Worker } from 'node:worker_threads';
import { WATCHDOG_FD_ENV } from '../ipc/watchdog-channel.js';
import type { Log } from '../logging/log.js';

export function startWatchdogThread(log: Log): void {
  const fd = Number(process.env[WATCHDOG_FD_ENV]);
  if (!Number.isInteger(fd) || fd <= 2) return;
  const thread = new Worker(new URL('./watchdog-thread.js', import.meta.url), {
    workerData: { fd },
    execArgv: [],
    // It parses a few source maps at most, once, just before the worker is killed.
    resourceLimits: { maxOldGenerationSizeMb: 64 },
  });
  thread.unref();
  thread.on('error', (err) => log.warn(`the watchdog thread failed; a stuck worker will be killed without a stack: ${err.message}`));
}
