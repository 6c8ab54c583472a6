/**
 * Signals: handlers only call the master's verbs. SIGTERM and SIGINT stop
 * gracefully (a second SIGINT stops at once), SIGHUP reloads. Resolves when the
 * server has stopped. The master may be PID 1 in a container, where signals
 * without a handler are ignored, so every one it honours has a handler.
 */
import type { Log } from '../logging/log.js';

export interface SignalVerbs {
  reload(): void;
  stop(): Promise<void>;
  kill(): Promise<void>;
  log: Log;
}

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

export function removeSignals(): void {
  for (const sig of SIGNALS) process.removeAllListeners(sig);
}

export function installSignals(verbs: SignalVerbs): Promise<void> {
  return new Promise((resolve) => {
    let stopping: Promise<void> | undefined;
    const done = () => {
      removeSignals();
      resolve();
    };
    const stop = (sig: NodeJS.Signals) => {
      if (stopping) {
        if (sig === 'SIGINT') {
          verbs.log.warn('Second SIGINT: stopping now');
          void verbs.kill().then(done);
        }
        return;
      }
      verbs.log.info(`${sig} received: stopping gracefully`);
      stopping = verbs.stop().then(done);
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      if (stopping) return;
      verbs.log.info('SIGHUP received: rolling reload');
      verbs.reload();
    });
  });
}
