/**
 * --deadlock-timeout, the master's side: the extra pipe each worker gets for
 * its watchdog thread (ipc/watchdog-channel.ts), and the question put on it
 * when the worker's main thread stops answering the heartbeat: where is its
 * JavaScript stuck? The thread costs each worker its own V8 isolate, so it is
 * there only when --deadlock-timeout is given (Config.deadlockStacks); at the
 * default a stuck worker is replaced and killed without its stack, as mod_wsgi
 * (whose deadlock timer cannot read a stack either) does.
 */
import type { StdioOptions } from 'node:child_process';
import type { Worker } from 'node:cluster';
import type { Readable, Writable } from 'node:stream';
import type { Config } from '../config/schema.js';
import { WATCHDOG_FD, type WatchdogAnswer } from '../ipc/watchdog-channel.js';

/** Off in debug mode: a worker paused in a debugger answers no heartbeat either. */
export function watchdogEnabled(config: Config): boolean {
  return config.deadlockTimeout > 0 && !config.debugMode;
}

/** Whether each worker keeps a watchdog thread to say where it is stuck. */
export function stackWatchdog(config: Config): boolean {
  return watchdogEnabled(config) && config.deadlockStacks;
}

/** The workers' stdio: node:cluster's own (piped, or the terminal in debug mode), plus the watchdog pipe. */
export function workerStdio(config: Config): Extract<StdioOptions, unknown[]> | undefined {
  if (!stackWatchdog(config)) return undefined;
  const base = config.debugMode ? ['inherit', 'inherit', 'inherit'] : ['pipe', 'pipe', 'pipe'];
  const stdio = [...base, 'ipc'];
  while (stdio.length < WATCHDOG_FD) stdio.push('ignore');
  stdio.push('pipe');
  return stdio as Extract<StdioOptions, unknown[]>;
}

/**
 * Asks `worker`'s watchdog thread for the main thread's stack. Rejects when
 * there is no channel, or no answer within `timeoutMs` (a thread stuck outside
 * JavaScript, in native code, cannot be paused).
 */
export function stuckStack(worker: Worker, timeoutMs: number): Promise<string> {
  const channel = worker.process.stdio[WATCHDOG_FD] as (Readable & Writable) | null | undefined;
  if (!channel) return Promise.reject(new Error('this worker has no watchdog channel'));
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (err: Error | undefined, stack?: string) => {
      clearTimeout(timer);
      channel.off('data', onData);
      if (err) reject(err);
      else resolve(stack!);
    };
    const timer = setTimeout(() => done(new Error(`its watchdog thread did not answer within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const end = text.indexOf('\n');
      if (end < 0) return;
      try {
        const answer = JSON.parse(text.slice(0, end)) as WatchdogAnswer;
        if (answer.stack !== undefined) done(undefined, answer.stack);
        else done(new Error(answer.error ?? 'an empty answer'));
      } catch (err) {
        done(err as Error);
      }
    };
    channel.on('data', onData);
    channel.on('error', () => {}); // the worker died meanwhile: the timer answers
    channel.write('stack\n');
  });
}
