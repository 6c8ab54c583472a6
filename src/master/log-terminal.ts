/**
 * The master's stdout or stderr as a log target. Whatever it is connected to (a
 * terminal, a pipe to a log shipper, a file), a failure (EPIPE when the reader has
 * gone) comes back to the destination as a failed write, never as an unhandled
 * 'error' event that would take the master down. A failed terminal is not retried:
 * the destination drops and counts its lines from then on.
 */
import type { LogTarget } from './log-destination.js';

export class TerminalTarget implements LogTarget {
  readonly retries = false;
  private failure: Error | undefined;
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
    this.pending = done;
    try {
      // A pipe is written asynchronously; a file or a terminal synchronously, and a
      // failure then throws here rather than calling back.
      this.stream.write(chunk, (err) => this.settle(err ?? null));
    } catch (err) {
      this.fail(err as Error);
    }
  }

  reopen(done: () => void): void {
    done();
  }

  close(done: () => void): void {
    done();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.settle(this.failure);
  }

  private settle(err: Error | null): void {
    const done = this.pending;
    this.pending = undefined;
    done?.(err);
  }
}
