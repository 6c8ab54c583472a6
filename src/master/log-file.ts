/**
 * A log file as a log target, written through rotating-file-stream (rfs), with
 * or without rotation (--rotate-logs).
 *
 * - Rotation keeps the active file's name (so `tail -F` follows it) and renames
 *   the full one with a time stamp, as Apache's rotatelogs names them:
 *   `error_log.2026-12-07-01_30_00` (UTC, the time of the rotation; `.2`, `.3`
 *   ... for more rotations within one second; `.gz` when compressed). rfs rotates
 *   only between writes, and the destination writes whole lines per chunk, so no
 *   line is ever split between two files.
 * - A failed write (a full or read-only disk) is never half done: rfs ignores a
 *   short write, so on an error this target looks at the file, truncates a
 *   partial chunk away, and tells the destination whether the chunk landed; the
 *   stream is then dropped and a fresh one opened for the next attempt.
 * - reopen() (SIGUSR1) ends the stream, so the next write opens the file by its
 *   name again: after an external logrotate moved it away, a new one.
 */
import { stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream';
import { createStream, type Generator, type RotatingFileStream } from 'rotating-file-stream';
import type { LogTarget } from './log-destination.js';

export interface Rotation {
  /** Rotate once the file reaches this many bytes. */
  readonly maxBytes: number;
  /** rfs interval (`1h`, `1d`, `30m`), when also rotating by time. */
  readonly interval?: string;
  /** Rotated files kept (older ones removed). */
  readonly maxFiles?: number;
  readonly compress: boolean;
}

export interface FileEvents {
  /** A rotation finished: the full file is now `rotatedTo`. */
  rotated(target: FileTarget, rotatedTo: string): void;
  /** Something rfs could live with (an old rotated file already gone). */
  warning(target: FileTarget, err: Error): void;
}

const pad = (n: number) => (n < 10 ? '0' : '') + n;

/** rotatelogs' `FILE.%Y-%m-%d-%H_%M_%S`, in UTC as rotatelogs without -l. */
export function rotatedNameGenerator(base: string, compress: boolean): Generator {
  return (time, index) => {
    if (!time) return base;
    const d = typeof time === 'number' ? new Date(time) : time;
    const stamp =
      `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}-` +
      `${pad(d.getUTCHours())}_${pad(d.getUTCMinutes())}_${pad(d.getUTCSeconds())}`;
    return `${base}.${stamp}${index && index > 1 ? `.${index}` : ''}${compress ? '.gz' : ''}`;
  };
}

/** Where rfs keeps its list of rotated files (for --max-log-files): hidden, beside the log. */
export function historyName(base: string): string {
  return `.${base}.rotated`;
}

export class FileTarget implements LogTarget {
  readonly retries = true;
  private stream: RotatingFileStream | undefined;
  /** The active file's size before the chunk being written (from rfs's open, then our writes). */
  private sizeBefore = 0;
  /** The active file's inode, once seen: a file replaced under the same name is never cut. */
  private ino: number | undefined;
  private opened = false;
  private rotated = false;

  constructor(
    readonly name: string,
    private readonly rotation: Rotation | undefined,
    private readonly events: FileEvents,
  ) {
    // Opened at once, so the file exists from the start (for `tail -F`, and for whoever checks).
    this.stream = this.open();
  }

  write(chunk: string, done: (err: Error | null, landed?: boolean) => void): void {
    const data = Buffer.from(chunk);
    const stream = (this.stream ??= this.open());
    this.rotated = false;
    let called = false;
    stream.write(data, (err) => {
      if (called) return;
      called = true;
      if (err) {
        this.drop(stream);
        void this.landed(data.length).then((landed) => done(err, landed));
      } else if (this.rotated) {
        // The chunk was written whole before rfs rotated (rotation follows a write).
        done(null);
      } else {
        void this.verify(stream, data.length).then((err) => done(err, false));
      }
    });
  }

  reopen(done: () => void): void {
    this.end(done);
  }

  close(done: () => void): void {
    this.end(done);
  }

  private end(done: () => void): void {
    const stream = this.stream;
    this.stream = undefined;
    if (!stream) return done();
    finished(stream, () => done());
    stream.end();
  }

  private drop(stream: RotatingFileStream): void {
    if (this.stream === stream) this.stream = undefined;
    stream.destroy();
  }

  private open(): RotatingFileStream {
    const base = path.basename(this.name);
    const r = this.rotation;
    const stream = createStream(rotatedNameGenerator(base, r?.compress ?? false), {
      path: path.dirname(this.name),
      ...(r
        ? {
            size: `${r.maxBytes}B`,
            ...(r.interval ? { interval: r.interval, intervalUTC: true } : {}),
            ...(r.maxFiles ? { maxFiles: r.maxFiles, history: historyName(base) } : {}),
            ...(r.compress ? { compress: 'gzip' as const } : {}),
          }
        : {}),
    });
    this.opened = false;
    stream.on('open', () => {
      this.opened = true;
      this.ino = undefined;
      // rfs has just set its own count of the file's size (0 after a rotation).
      this.sizeBefore = (stream as unknown as { size?: number }).size ?? 0;
    });
    stream.on('rotation', () => (this.rotated = true));
    stream.on('rotated', (file) => this.events.rotated(this, file));
    stream.on('warning', (err) => this.events.warning(this, err));
    // Failures come back through the write's callback; the event must not crash the master.
    stream.on('error', () => {});
    return stream;
  }

  /** The active file's size, when it is still the file this target opened (else undefined). */
  private async currentSize(): Promise<number | undefined> {
    try {
      const st = await stat(this.name);
      this.ino ??= st.ino;
      return st.ino === this.ino ? st.size : undefined;
    } catch {
      return undefined; // moved away: SIGUSR1 will reopen
    }
  }

  /**
   * After a write rfs reported done: rfs does not check for a short write (the
   * disk filled up within the chunk), which would lose the chunk's end. A short
   * write is cut off and reported as a failure, so the chunk is written again whole.
   */
  private async verify(stream: RotatingFileStream, bytes: number): Promise<Error | null> {
    const size = await this.currentSize();
    const expected = this.sizeBefore + bytes;
    if (size === undefined || size >= expected) {
      this.sizeBefore = size ?? expected;
      return null;
    }
    this.drop(stream); // its own count of the size is wrong now: a fresh stream counts again
    if (size > this.sizeBefore) await this.cut();
    return Object.assign(new Error(`only ${size - this.sizeBefore} of ${bytes} bytes could be written; is the disk full?`), { code: 'ENOSPC' });
  }

  /**
   * After a failed write: whether the chunk is in the file. A rotation starts only
   * after a whole chunk was written; otherwise compare the file with its size
   * before the chunk and cut a partial write off, so the retry writes it whole.
   */
  private async landed(bytes: number): Promise<boolean> {
    if (this.rotated) return true;
    if (!this.opened) return false;
    const size = await this.currentSize();
    if (size === undefined || size <= this.sizeBefore) return false;
    if (size >= this.sizeBefore + bytes) {
      this.sizeBefore = size;
      return true;
    }
    await this.cut();
    return false;
  }

  private async cut(): Promise<void> {
    try {
      await truncate(this.name, this.sizeBefore);
    } catch {
      // cannot even truncate: the retry appends after the fragment
    }
  }
}
