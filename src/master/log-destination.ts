/**
 * One log destination (the error log, the access log, the startup log): a
 * bounded queue of whole lines in front of one target, a terminal stream or a
 * file (log-terminal.ts, log-file.ts), written one chunk at a time.
 *
 * - Bounded: at most QUEUE_LIMIT characters wait. Beyond that lines are dropped
 *   and counted, and the count is reported (onResumed) once a write succeeds.
 * - A failed write is never half done: the target says whether the chunk
 *   landed; if not, the same chunk is written again, so each line reaches the
 *   file once, whole, in order.
 * - A terminal that fails (its reader has gone) is dead for good: reported once
 *   (onFailed), its lines dropped and counted from then on. A file is retried
 *   (at once, then with back-off up to 2 s), reported once per outage, and
 *   resumes where it stopped.
 * - Who enqueued a chunk can be told when it has been written (`done`): the
 *   workers' log windows are acked that way, so a destination that cannot keep up
 *   slows the workers down to dropping at the source instead of filling memory.
 */

/** Characters of log text queued per destination in the master. */
export const QUEUE_LIMIT = 4 * 1024 * 1024;
/** The most one write hands the target. */
const CHUNK = 256 * 1024;
const RETRY_MS = [0, 100, 500, 1000, 2000];

export interface LogTarget {
  /** What messages and the banner call it: /dev/stderr or the file's path. */
  readonly name: string;
  /** A terminal that failed stays failed; a file is retried. */
  readonly retries: boolean;
  /**
   * Writes whole lines; done(null) once written. On failure done(err, landed):
   * `landed` when the chunk is in the file all the same (a rotation failed after
   * it was written), else nothing of it is (a partial write has been undone).
   */
  write(chunk: string, done: (err: Error | null, landed?: boolean) => void): void;
  /** Closes and reopens the file by its name (SIGUSR1); done once the old one is closed. */
  reopen(done: () => void): void;
  close(done: () => void): void;
}

export interface DestinationEvents {
  /** The target failed (a terminal: for good; a file: the retry failed too). Reported once per outage. */
  onFailed(dest: LogDestination, err: Error): void;
  /** Writing works again: after an outage (`outage` is its error), or after lines were dropped. */
  onResumed(dest: LogDestination, dropped: number, outage: Error | undefined): void;
}

interface Waiter {
  readonly at: number;
  readonly done: () => void;
}

export class LogDestination {
  private queue: string[] = [];
  private head = 0;
  private queued = 0;
  /** Characters accepted so far, and written (or given up) so far: offsets for the waiters. */
  private accepted = 0;
  private finished = 0;
  private waiters: Waiter[] = [];
  /** A chunk that failed and did not land: written again before anything else. */
  private retry: string | undefined;
  private writing = false;
  private dead = false;
  private failures = 0;
  private outage: Error | undefined;
  private reported = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private reopenWanted = false;
  private dropped = 0;
  /** Lines dropped over the whole run (reported at exit for a dead terminal). */
  droppedTotal = 0;
  private idle: (() => void)[] = [];

  constructor(
    readonly target: LogTarget,
    private readonly events: DestinationEvents,
  ) {}

  get name(): string {
    return this.target.name;
  }

  get isDead(): boolean {
    return this.dead;
  }

  /** Queues `text` (whole lines, `lines` of them); `done` once written or dropped and everything before it written. */
  write(text: string, lines: number, done?: () => void): void {
    if (this.dead || this.queued + text.length > QUEUE_LIMIT) {
      this.drop(lines);
      if (done) this.whenFinished(this.accepted, done);
      return;
    }
    this.queue.push(text);
    this.queued += text.length;
    this.accepted += text.length;
    if (done) this.whenFinished(this.accepted, done);
    this.pump();
  }

  /** A line the destination writes about itself (a drop count): queued even when full. */
  writeNotice(text: string): void {
    if (this.dead) return;
    this.queue.push(text);
    this.queued += text.length;
    this.accepted += text.length;
    this.pump();
  }

  /** SIGUSR1: close and reopen the file once the write in progress is done; a failing file is retried now. */
  reopen(): void {
    if (this.dead) return;
    this.reopenWanted = true;
    this.retryNow();
  }

  /**
   * Writes what is queued, for at most `ms`, then closes the target. What is
   * still queued then is dropped; resolves with how many lines that was.
   */
  async close(ms: number): Promise<number> {
    this.retryNow();
    const drained = new Promise<void>((resolve) => {
      if (this.isIdle()) resolve();
      else this.idle.push(resolve);
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), ms)));
    const late = await Promise.race([drained.then(() => false), timedOut]);
    clearTimeout(timer);
    const lost = late ? this.giveUp() : 0;
    clearTimeout(this.retryTimer);
    this.dead = true;
    if (!late) await new Promise<void>((resolve) => this.target.close(resolve));
    return lost;
  }

  private isIdle(): boolean {
    return !this.writing && this.retry === undefined && this.head >= this.queue.length;
  }

  private drop(lines: number): void {
    this.dropped += lines;
    this.droppedTotal += lines;
  }

  private whenFinished(at: number, done: () => void): void {
    if (this.finished >= at) done();
    else this.waiters.push({ at, done });
  }

  private advance(chars: number): void {
    this.finished += chars;
    this.queued -= chars;
    let n = 0;
    while (n < this.waiters.length && this.waiters[n]!.at <= this.finished) n++;
    if (n === 0) return;
    const ready = this.waiters.splice(0, n);
    for (const w of ready) w.done();
  }

  /** Takes queued items, whole, up to CHUNK characters (at least one). */
  private take(): string {
    let end = this.head;
    let size = 0;
    while (end < this.queue.length && (end === this.head || size + this.queue[end]!.length <= CHUNK)) {
      size += this.queue[end]!.length;
      end++;
    }
    const chunk = end - this.head === 1 ? this.queue[this.head]! : this.queue.slice(this.head, end).join('');
    this.head = end;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return chunk;
  }

  private pump(): void {
    if (this.writing || this.dead || this.retryTimer) return;
    if (this.reopenWanted) {
      this.reopenWanted = false;
      this.writing = true;
      this.target.reopen(() => {
        this.writing = false;
        this.pump();
      });
      return;
    }
    const chunk = this.retry ?? (this.head < this.queue.length ? this.take() : undefined);
    this.retry = undefined;
    if (chunk === undefined) {
      for (const resolve of this.idle.splice(0)) resolve();
      return;
    }
    this.writing = true;
    this.target.write(chunk, (err, landed) => this.written(chunk, err, landed === true));
  }

  private written(chunk: string, err: Error | null, landed: boolean): void {
    this.writing = false;
    if (!err || landed) this.advance(chunk.length);
    if (!err) {
      const outage = this.failures > 0 ? this.outage : undefined;
      this.failures = 0;
      this.outage = undefined;
      this.reported = false;
      if (outage || this.dropped > 0) {
        const dropped = this.dropped;
        this.dropped = 0;
        this.events.onResumed(this, dropped, outage);
      }
      this.pump();
      return;
    }
    if (!landed) this.retry = chunk;
    this.outage = err;
    if (!this.target.retries) return this.die(err);
    this.failures++;
    // The first failure is retried at once (a file moved away during a rotation);
    // one that persists is reported, once per outage.
    if (this.failures >= 2 && !this.reported) {
      this.reported = true;
      this.events.onFailed(this, err);
    }
    const delay = RETRY_MS[Math.min(this.failures - 1, RETRY_MS.length - 1)]!;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, delay);
  }

  private retryNow(): void {
    if (!this.retryTimer) return this.pump();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.pump();
  }

  /** A terminal whose reader has gone: everything queued and to come is dropped, counted. */
  private die(err: Error): void {
    this.dead = true;
    this.giveUp();
    this.events.onFailed(this, err);
  }

  /** Drops what is queued (counted), releasing everyone waiting on it; how many lines that was. */
  private giveUp(): number {
    const pending = [...(this.retry !== undefined ? [this.retry] : []), ...this.queue.slice(this.head)];
    let lines = 0;
    let chars = 0;
    for (const text of pending) {
      chars += text.length;
      lines += countLines(text);
    }
    this.drop(lines);
    this.retry = undefined;
    this.queue = [];
    this.head = 0;
    this.advance(chars);
    for (const resolve of this.idle.splice(0)) resolve();
    return lines;
  }
}

export function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
