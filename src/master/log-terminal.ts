/**
 * The master's stdout or stderr as a log target. Whatever it is connected to (a
 * terminal, a pipe to a log shipper, a file), a failure (EPIPE when the reader has
 * gone) comes back to the destination as a failed write, never as an unhandled
 * 'error' event that would take the master down. A failed terminal is not retried:
 * the destination drops and counts its lines from then on.
 */
import type { LogTarget } from './log-destination.js';

/**
 * A write counts as done once the stream holds no more than this unsent: while the
 * reader keeps up (the usual case) lines go out at once, in the order they were
 * logged, as plain writes would; a slow reader makes the destination wait instead
 * of the stream's buffer growing.
 */
const SLACK = 64 * 1024;

export class TerminalTarget implements LogTarget {
  readonly retries = false;
  private failure: Error | undefined;
  /** The write in progress, not yet done: a failure is reported to it. */
  private pending: ((err: Error | null) => void) | undefined;

  constructor(
    readonly name: '/dev/stdout' | '/dev/stderr',
    private readonly stream: NodeJS.WriteStream,
  ) {
    // EPIPE arrives as an event (and as the write's callback error); an unhandled
    // one would crash the master.
    stream.on('error', (err) => this.fail(err));
  }

  write(chunk: string, done: (err: Error | null) => void): void {
    if (this.failure) return done(this.failure);
    let settled = false;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      if (this.pending === finish) this.pending = undefined;
      done(err);
    };
    this.pending = finish;
    try {
      // A pipe is written asynchronously; a file or a terminal synchronously, and a
      // failure then throws here rather than calling back.
      this.stream.write(chunk, (err) => (err ? this.fail(err) : finish(null)));
    } catch (err) {
      return this.fail(err as Error);
    }
    // Little left unsent: done now (a failure still reaches the next write).
    if (!settled && this.stream.writableLength <= SLACK) finish(null);
  }

  reopen(done: () => void): void {
    done();
  }

  close(done: () => void): void {
    done();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const pending = this.pending;
    this.pending = undefined;
    pending?.(this.failure);
  }
}
