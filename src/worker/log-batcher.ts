/**
 * The worker side of logging: records are queued and sent to the master in
 * batches (one IPC message per ~20 ms, 512 records or 64 KiB), off the request
 * path. The master alone writes log output.
 *
 * Memory is bounded twice. At most QUEUE_LIMIT characters wait here unsent, and
 * at most WINDOW characters are sent and not yet written by the master (it acks
 * each batch once written: log-ack), so a log that cannot keep up (a slow disk, a
 * slow reader of the terminal) makes the worker drop lines here, counted, rather
 * than grow, and the master never holds more than a window per worker. The count
 * goes with the next batch and the master logs it.
 */
import type { ErrorRecord, LogMessage } from '../ipc/messages.js';
import { levelEnabled, type Level } from '../logging/levels.js';
import { makeLog, type Log } from '../logging/log.js';
import { clientOf } from '../logging/request-clients.js';

const FLUSH_MS = 20;
const MAX_RECORDS = 512;
const MAX_BATCH = 64 * 1024;
/** Characters of log text queued in a worker and not yet sent. */
export const QUEUE_LIMIT = 1024 * 1024;
/** Characters sent to the master and not yet written by it. */
export const WINDOW = 1024 * 1024;
/** What a record costs beyond its text (the tuple, its time and tags), roughly. */
const RECORD_OVERHEAD = 48;

export interface BatcherOptions {
  /** --error-log-format has %a: tag records with the request's client address. */
  readonly withClient?: boolean;
  /** --error-log-format has %F: tag records with the file:line that logged them. */
  readonly withLocation?: boolean;
}

export class LogBatcher {
  private errors: ErrorRecord[] = [];
  private access = '';
  private queued = 0;
  private inFlight = 0;
  private droppedErrors = 0;
  private droppedAccess = 0;
  private timer: NodeJS.Timeout | undefined;
  readonly log: Log;

  constructor(
    private readonly send: (message: LogMessage, done?: () => void) => void,
    private readonly threshold: Level,
    private readonly options: BatcherOptions = {},
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

  /** The master wrote a batch: that much more may be sent. */
  acked(size: number): void {
    this.inFlight = Math.max(0, this.inFlight - size);
    if (this.queued > 0) this.schedule();
  }

  private record(level: ErrorRecord[1], text: string, rid: string | undefined): void {
    const size = text.length + RECORD_OVERHEAD;
    if (this.queued + size > QUEUE_LIMIT) {
      this.droppedErrors++;
      return;
    }
    const record: ErrorRecord = [Date.now(), level, rid ?? '', text];
    if (this.options.withClient || this.options.withLocation) {
      record.push(rid ? (clientOf(rid) ?? '') : '');
      if (this.options.withLocation) record.push(callerLocation());
    }
    this.errors.push(record);
    this.queued += size;
    if (this.errors.length >= MAX_RECORDS || this.queued >= MAX_BATCH) this.sendBatch(false);
    else this.schedule();
  }

  private addAccess(line: string): void {
    if (this.queued + line.length > QUEUE_LIMIT) {
      this.droppedAccess++;
      return;
    }
    this.access += line;
    this.queued += line.length;
    if (this.queued >= MAX_BATCH) this.sendBatch(false);
    else this.schedule();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => this.sendBatch(false), FLUSH_MS);
  }

  /**
   * Sends everything queued now, whatever the window (a crash, the drain's exit:
   * the worker is about to exit, and what it sends is bounded by QUEUE_LIMIT);
   * `done` runs once the master has it, or at once if nothing is queued.
   */
  flush(done?: () => void): void {
    if (!this.sendBatch(true, done)) done?.();
  }

  /** Sends a batch if there is one and the window allows it (or `force`); whether it sent. */
  private sendBatch(force: boolean, done?: () => void): boolean {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const dropped = this.droppedErrors + this.droppedAccess > 0;
    if (this.errors.length === 0 && this.access === '' && !dropped) return false;
    // Over the window: the master's next log-ack sends it.
    if (!force && this.inFlight >= WINDOW) return false;
    const size = this.queued;
    const message: LogMessage = {
      t: 'log',
      errors: this.errors,
      access: this.access,
      size,
      ...(dropped ? { dropped: [this.droppedErrors, this.droppedAccess] as const } : {}),
    };
    this.errors = [];
    this.access = '';
    this.queued = 0;
    this.droppedErrors = 0;
    this.droppedAccess = 0;
    this.inFlight += size;
    this.send(message, done);
    return true;
  }
}

/** Frames of the logging machinery itself, skipped to find who logged. */
const OWN_FRAMES = /[/\\](worker[/\\](log-batcher|capture-output)|logging[/\\]log|tsgi[/\\]errors-stream)\.[jt]s|node:internal|^\s*at (new )?Error\b|\(native\)/;

/** `file:line` of the code that logged (for %F): the first frame outside the logging machinery. */
function callerLocation(): string {
  const stack = new Error().stack ?? '';
  for (const frame of stack.split('\n').slice(1)) {
    if (OWN_FRAMES.test(frame)) continue;
    const m = /\(?((?:file:\/\/)?[^\s()]+):(\d+):\d+\)?\s*$/.exec(frame);
    if (m) return `${m[1]!.replace(/^file:\/\//, '')}:${m[2]}`;
  }
  return '';
}
