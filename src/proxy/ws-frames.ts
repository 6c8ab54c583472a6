/**
 * Just enough of RFC 6455 framing for a proxied WebSocket to be closed politely
 * at a draining worker's deadline: where the frames of a byte stream end (so a
 * close frame is never put in the middle of one), and the close frame itself.
 * Payloads are never read or unmasked: only each frame's header is looked at.
 */
import { randomBytes } from 'node:crypto';

/** Follows a stream of frames (after an optional HTTP head) from header to header. */
export class FrameBoundary {
  /** Bytes of the current frame's payload still to come. */
  private remaining = 0;
  /** A header that has not fully arrived yet. */
  private partial: Buffer | undefined;
  /** Before the first frame: the HTTP head still to skip, and its last bytes seen. */
  private inHead: boolean;
  private headTail = '';
  /** The status of the skipped HTTP head (101 for a WebSocket that was accepted). */
  status: number | undefined;

  constructor(afterHttpHead = false) {
    this.inHead = afterHttpHead;
  }

  /** Whether the bytes seen so far end exactly between two frames (past the head). */
  get atBoundary(): boolean {
    return !this.inHead && this.remaining === 0 && this.partial === undefined;
  }

  /** Follows every byte of `chunk`. */
  feed(chunk: Buffer): void {
    this.advance(chunk, false);
  }

  /**
   * Follows `chunk` only as far as the end of the frame under way: returns how many
   * of its bytes belong to it (0 when between frames already).
   */
  untilBoundary(chunk: Buffer): number {
    return this.advance(chunk, true);
  }

  private advance(chunk: Buffer, stop: boolean): number {
    let pos = 0;
    if (this.inHead) {
      pos = this.skipHead(chunk);
      if (this.inHead) return pos;
    }
    while (pos < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - pos);
        this.remaining -= take;
        pos += take;
        continue;
      }
      if (stop && this.partial === undefined) return pos;
      pos = this.readHeader(chunk, pos);
    }
    return pos;
  }

  /** Consumes header bytes from `pos`; returns where they end. */
  private readHeader(chunk: Buffer, pos: number): number {
    const have = this.partial ?? Buffer.alloc(0);
    // At most 14 header bytes: 2, 8 of extended length, 4 of mask.
    const bytes = Buffer.concat([have, chunk.subarray(pos, pos + 14 - have.length)]);
    const size = bytes.length < 2 ? Infinity : headerSize(bytes[1]!);
    if (bytes.length < size) {
      this.partial = bytes;
      return pos + (bytes.length - have.length);
    }
    this.partial = undefined;
    const len7 = bytes[1]! & 0x7f;
    this.remaining = len7 === 126 ? bytes.readUInt16BE(2) : len7 === 127 ? Number(bytes.readBigUInt64BE(2)) : len7;
    return pos + (size - have.length);
  }

  private skipHead(chunk: Buffer): number {
    const text = this.headTail + chunk.toString('latin1');
    if (this.status === undefined && text.length >= 12) this.status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
    const end = text.indexOf('\r\n\r\n');
    if (end < 0) {
      this.headTail = text.length > 64 && this.status !== undefined ? text.slice(-3) : text;
      return chunk.length;
    }
    this.inHead = false;
    this.headTail = '';
    return end + 4 - (text.length - chunk.length);
  }
}

function headerSize(second: number): number {
  const len7 = second & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (second & 0x80 ? 4 : 0);
}

/** A close frame with `code` and a short reason; masked, as a client must send it, when `masked`. */
export function closeFrame(code: number, reason: string, masked: boolean): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  const head = Buffer.from([0x88, (masked ? 0x80 : 0) | payload.length]);
  if (!masked) return Buffer.concat([head, payload]);
  const mask = randomBytes(4);
  for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
  return Buffer.concat([head, mask, payload]);
}
