/**
 * The worker side of logging: records are queued and sent to the master in
 * batches (one IPC message per ~20 ms or 512 records), off the request path.
 * The master alone writes log output.
 */
import type { ErrorRecord, LogMessage } from '../ipc/messages.js';
import { levelEnabled, type Level } from '../logging/levels.js';
import { makeLog, type Log } from '../logging/log.js';

const FLUSH_MS = 20;
const MAX_RECORDS = 512;
const MAX_ACCESS_BYTES = 64 * 1024;

export class LogBatcher {
  private errors: ErrorRecord[] = [];
  private access = '';
  private timer: NodeJS.Timeout | undefined;
  readonly log: Log;

  constructor(
    private readonly send: (message: LogMessage, done?: () => void) => void,
    private readonly threshold: Level,
  ) {
    this.log = makeLog(
      (level, text, rid) => {
        if (levelEnabled(level, this.threshold)) this.record(level, text, rid);
      },
      (line) => this.addAccess(line),
    );
  }

  /** App output (console.log and friends); written whatever --log-level says. */
  output(stream: 'stdout' | 'stderr', text: string, rid: string | undefined): void {
    this.record(stream, text, rid);
  }

  private record(level: ErrorRecord[1], text: string, rid: string | undefined): void {
    this.errors.push([Date.now(), level, rid ?? '', text]);
    if (this.errors.length >= MAX_RECORDS) this.flush();
    else this.schedule();
  }

  private addAccess(line: string): void {
    this.access += line;
    if (this.access.length >= MAX_ACCESS_BYTES) this.flush();
    else this.schedule();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Sends what is queued; `done` runs once the master has it (or at once if empty). */
  flush(done?: () => void): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.errors.length === 0 && this.access === '') {
      done?.();
      return;
    }
    const message: LogMessage = { t: 'log', errors: this.errors, access: this.access };
    this.errors = [];
    this.access = '';
    this.send(message, done);
  }
}
