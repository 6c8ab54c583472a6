/**
 * Signals only queue an event (arbiter.ts runs the verb: handleSigterm and so
 * on). The handlers are installed before the first fork: the master may be PID 1
 * in a container, where a signal without a handler is ignored, and a signal that
 * arrives during start-up waits in the queue instead of being lost.
 *
 * SIGTERM, SIGINT: stop gracefully (a second SIGINT: at once). SIGHUP: rolling
 * reload. SIGTTIN, SIGTTOU: one worker more, one fewer. SIGUSR1: reopen the log
 * files. SIGUSR2: the worker writes its CPU profile (--enable-profiler). A new
 * signal is one more name here and one more `handle<Signal>` verb in the arbiter.
 */
export const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGUSR1', 'SIGUSR2'] as const;
export type MasterSignal = (typeof SIGNALS)[number];

const installed = new Map<MasterSignal, () => void>();

export function installSignals(queue: (signal: MasterSignal) => void): void {
  for (const signal of SIGNALS) {
    const handler = () => queue(signal);
    installed.set(signal, handler);
    process.on(signal, handler);
  }
}

export function removeSignals(): void {
  for (const [signal, handler] of installed) process.off(signal, handler);
  installed.clear();
}
