/**
 * Writing a file's bytes from an open descriptor to a response: a small file in
 * one read and one write; anything larger chunk by chunk at explicit offsets,
 * reading the next chunk while the last one is on its way, and waiting for
 * 'drain' whenever the client is slower than the disk (backpressure: at most two
 * chunks per response are ever in memory).
 *
 * The bytes come from the descriptor that was opened, so a file replaced by a
 * rename while it is served is served whole, in its old version. A file rewritten
 * in place is caught: a read that comes back short, or a size or modification
 * time that changed by the last chunk, cuts the connection before the body is
 * complete, so the client sees a broken download (fewer bytes than
 * Content-Length), never a finished one mixing two versions.
 */
import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import type { ResponseOut } from '../pipeline/error-response.js';

const read = promisify(fs.read);
const fstat = promisify(fs.fstat);

/** Files up to this size are read whole before the headers go out. */
export const SMALL_FILE = 64 * 1024;
const CHUNK = 128 * 1024;

export interface Segment {
  /** Bytes written before this part of the file (a multipart part's header). */
  readonly head?: Buffer;
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
}

export type BodyOutcome = 'done' | 'changed' | 'gone';

/** Reads exactly `length` bytes at `position`; undefined when the file has fewer (it shrank). */
export async function readExactly(fd: number, position: number, length: number): Promise<Buffer | undefined> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await read(fd, buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) return undefined;
    filled += bytesRead;
  }
  return buffer;
}

/** Resolves when the response can take more, or is gone ('close': a client that left never drains). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function unchanged(before: fs.Stats, after: fs.Stats): boolean {
  return before.size === after.size && before.mtimeMs === after.mtimeMs;
}

/**
 * Writes the segments (then `tail`) through `out` and ends the response; the
 * headers are already out. 'changed' and 'gone' leave the response unfinished: the caller cuts it.
 */
export async function writeSegments(
  res: ServerResponse,
  out: ResponseOut,
  fd: number,
  stats: fs.Stats,
  segments: readonly Segment[],
  tail?: Buffer,
): Promise<BodyOutcome> {
  const last = segments.length - 1;
  for (let s = 0; s <= last; s++) {
    const { head, start, end } = segments[s]!;
    if (head !== undefined && !out.write(head)) await drained(res);
    let position = start;
    let next = readExactly(fd, position, Math.min(CHUNK, end + 1 - position));
    while (position <= end) {
      const chunk = await next;
      if (chunk === undefined) return 'changed';
      position += chunk.length;
      const more = position <= end;
      if (more) next = readExactly(fd, position, Math.min(CHUNK, end + 1 - position));
      else if (s === last && !unchanged(stats, await fstat(fd))) return 'changed';
      if (res.destroyed) {
        if (more) await next.catch(() => undefined);
        return 'gone';
      }
      if (!out.write(chunk)) await drained(res);
    }
  }
  if (res.destroyed) return 'gone';
  out.end(tail);
  return 'done';
}
