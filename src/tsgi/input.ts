/**
 * tsgi.input: the request body. Reads only from the IncomingMessage, so Node's
 * parser guarantees nothing past the body (chunked or Content-Length) is seen.
 * Nothing is attached to the request until the first read, so a GET pays only
 * for one small object. Once reading starts the request flows into a buffer
 * (chunks kept as Node delivers them, no copies) and is paused above
 * HIGH_WATER bytes, so a slow reader applies backpressure to the client instead
 * of buffering the body in memory. (Paused-mode req.read() was measured slower:
 * it joins buffered chunks into a copy and toggles the socket at 16 KiB.)
 *
 * read() of a whole body whose Content-Length is known copies each chunk, as it
 * arrives, into one buffer of that size: the body is held once, not as chunks
 * and then again joined. (Node's parser hands each chunk over in a fresh copy,
 * which V8 frees only at its next collection: a single 10 MiB read still raises
 * the worker's peak RSS by about 20 MiB; what it saves is memory held live.)
 *
 * A body that fails for the client's reason (RequestBodyError: malformed,
 * too large, too slow, or the client gone) rejects every pending and later read
 * with that error.
 */
import type { IncomingMessage } from 'node:http';
import { isRequestBodyError, RequestBodyError } from '../errors.js';
import type { Input } from '../index.js';

const EMPTY: Uint8Array = Buffer.alloc(0);
const HIGH_WATER = 256 * 1024;
/** Larger declared bodies are read as chunks: a Content-Length alone does not reserve memory beyond this. */
const MAX_PREALLOCATED = 256 * 1024 * 1024;
const NO_CHUNKS: Buffer[] = [];

/** Where a whole-body read() copies the chunks as they arrive. */
interface Sink {
  readonly out: Buffer;
  offset: number;
}

export class RequestInput implements Input {
  private chunks: Buffer[] = NO_CHUNKS; // replaced on the first chunk: most requests have no body
  private buffered = 0;
  /** Bytes handed to the application so far. */
  private taken = 0;
  private sink: Sink | undefined;
  private attached = false;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly req: IncomingMessage) {}

  /** Without a size: the rest of the body. With one: that many bytes, fewer only at the end. */
  async read(size?: number): Promise<Uint8Array> {
    if (size !== undefined && (!Number.isInteger(size) || size < 0)) {
      throw new RangeError(`tsgi.input read(size) needs a non-negative integer size, got ${size}`);
    }
    // Once the body failed, no read succeeds, even from what was already received.
    if (this.failure) throw this.failure;
    if (size === 0) return EMPTY;
    if (size === undefined) {
      const rest = this.declaredRest();
      if (rest !== undefined && rest > this.buffered && rest <= MAX_PREALLOCATED) return this.readInto(rest);
    }
    const want = size ?? Infinity;
    while (this.buffered < want && !this.ended) await this.fill();
    return this.take(Math.min(want, this.buffered));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.buffered === 0 && !this.ended) await this.fill();
      if (this.buffered === 0) return;
      yield this.take(this.chunks[0]!.length);
    }
  }

  /**
   * Called by the server when the response is over. Once we have read from the
   * request, Node no longer dumps the unread rest itself, and a keep-alive
   * connection would stall on it; so flow it away.
   */
  discard(): void {
    if (!this.attached || this.ended) return;
    this.req.removeAllListeners('data');
    this.req.resume();
  }

  /** The bytes of a Content-Length body not yet handed out; undefined for a chunked body. */
  private declaredRest(): number | undefined {
    const headers = this.req.headers;
    const length = headers['content-length'];
    if (length === undefined || headers['transfer-encoding'] !== undefined) return undefined;
    return Number(length) - this.taken;
  }

  /** read() of the rest of a body of known size: one buffer, filled as the chunks arrive. */
  private async readInto(rest: number): Promise<Uint8Array> {
    const sink: Sink = { out: Buffer.allocUnsafe(rest), offset: 0 };
    for (const chunk of this.chunks) sink.offset += chunk.copy(sink.out, sink.offset);
    this.chunks = [];
    this.buffered = 0;
    this.sink = sink;
    try {
      while (sink.offset < rest && !this.ended) await this.fill();
    } finally {
      this.sink = undefined;
    }
    this.taken += sink.offset;
    return sink.offset === rest ? sink.out : sink.out.subarray(0, sink.offset);
  }

  /** Waits until more of the body is buffered, or it ends or fails. */
  private fill(): Promise<void> {
    this.attach();
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve();
    // The reader wants more than HIGH_WATER holds (read() of a large body): let it flow.
    if (this.req.isPaused()) this.req.resume();
    return new Promise<void>((resolve, reject) => {
      this.wake = () => {
        this.wake = undefined;
        if (this.failure) reject(this.failure);
        else resolve();
      };
    });
  }

  private attach(): void {
    if (this.attached) return;
    this.attached = true;
    const req = this.req;
    if (req.readableEnded) this.ended = true;
    req.on('data', (chunk: Buffer) => this.onData(chunk));
    req.on('end', () => {
      this.ended = true;
      this.wake?.();
    });
    req.on('error', (err) => this.fail(err));
    req.on('close', () => {
      if (!this.ended) {
        this.fail(new RequestBodyError('TSGI_BODY_ABORTED', 'The client closed the connection before the request body ended.'));
      }
    });
  }

  private onData(chunk: Buffer): void {
    const sink = this.sink;
    if (sink !== undefined && chunk.length <= sink.out.length - sink.offset) {
      sink.offset += chunk.copy(sink.out, sink.offset);
    } else {
      if (this.chunks === NO_CHUNKS) this.chunks = [];
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered >= HIGH_WATER) this.req.pause();
    }
    this.wake?.();
  }

  private fail(err: Error): void {
    if (this.failure || this.ended) return;
    this.failure = isRequestBodyError(err)
      ? err
      : new Error(`tsgi.input: request body read error: ${err.message}`, { cause: err });
    this.wake?.();
  }

  /** Removes exactly n buffered bytes (n <= buffered), copying only when chunks must be split or joined. */
  private take(n: number): Uint8Array {
    if (n === 0) return EMPTY;
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length === n) {
      out = first;
      this.chunks.shift();
    } else if (first.length > n) {
      out = first.subarray(0, n);
      this.chunks[0] = first.subarray(n);
    } else {
      const joined = Buffer.concat(this.chunks, this.buffered);
      out = joined.subarray(0, n);
      this.chunks = n < joined.length ? [joined.subarray(n)] : [];
    }
    this.buffered -= n;
    this.taken += n;
    if (this.buffered < HIGH_WATER && this.req.isPaused() && !this.ended) this.req.resume();
    return out;
  }
}

export function createInput(req: IncomingMessage): RequestInput {
  return new RequestInput(req);
}
