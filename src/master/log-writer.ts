/**
 * The one writer of log output. Workers send batches of records (ipc/messages.ts);
 * the master formats them and writes each batch to its destination in a single
 * write, so lines from different workers never interleave. Destinations are
 * streams today (the terminal); log files with rotation plug in as other streams.
 */
import type { ErrorRecord, LogMessage } from '../ipc/messages.js';
import { levelEnabled, type Level } from '../logging/levels.js';
import { makeLog, type Log } from '../logging/log.js';
import { formatErrorRecord } from '../logging/format.js';

export interface Destination {
  write(text: string): unknown;
}

export class LogWriter {
  /** The master's own log. */
  readonly log: Log;

  constructor(
    private readonly errorLog: Destination,
    private readonly accessLog: Destination,
    private readonly threshold: Level,
  ) {
    this.log = makeLog(
      (level, text, rid) => {
        if (levelEnabled(level, this.threshold)) {
          this.errorLog.write(formatErrorRecord([Date.now(), level, rid ?? '', text], process.pid));
        }
      },
      (line) => this.accessLog.write(line),
    );
  }

  /** A batch from a worker (already filtered by level there). */
  fromWorker(pid: number, message: LogMessage): void {
    if (message.errors.length > 0) {
      let text = '';
      for (const record of message.errors) text += formatErrorRecord(record as ErrorRecord, pid);
      this.errorLog.write(text);
    }
    if (message.access) this.accessLog.write(message.access);
  }

  /** Raw output a worker wrote straight to its stdout/stderr pipes (crash reports, native code). */
  workerOutput(pid: number, stream: 'stdout' | 'stderr', text: string): void {
    this.errorLog.write(formatErrorRecord([Date.now(), stream, '', text], pid));
  }
}
