/**
 * tsgi.input: the request body. Reads only from the IncomingMessage, so Node's
 * parser guarantees nothing past the body (chunked or Content-Length) is seen.
 * Nothing is attached to the request until the first read, so a GET pays only
 * for one small object. Reading is pull-based (req.read()), so a slow reader
 * applies backpressure to the client instead of buffering the body in memory.
 */
import type { IncomingMessage } from 'node:http';
import type { Input } from '../index.js';

const EMPTY: Uint8Array = Buffer.alloc(0);

export class RequestInput implements Input {
  private chunks: Buffer[] = [];
  private buffered = 0;
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
    if (size === 0) return EMPTY;
    const want = size ?? Infinity;
    while (this.buffered < want && !this.ended) await this.fill();
    return this.take(Math.min(want, this.buffered));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
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
    this.req.removeAllListeners('readable');
    this.req.resume();
  }

  /** Waits until req has data, ends or fails, moving what it has into our buffer. */
  private fill(): Promise<void> {
    this.attach();
    if (this.pull()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.wake = () => {
        this.wake = undefined;
        if (this.failure) reject(this.failure);
        else {
          this.pull();
          resolve();
        }
      };
    });
  }

  /** Moves readable data into the buffer; true if something changed (data, end or failure). */
  private pull(): boolean {
    if (this.failure) throw this.failure;
    let got = false;
    let chunk: Buffer | null;
    while ((chunk = this.req.read() as Buffer | null) !== null) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      got = true;
    }
    return got || this.ended;
  }

  private attach(): void {
    if (this.attached) return;
    this.attached = true;
    const req = this.req;
    if (req.readableEnded) this.ended = true;
    req.on('readable', () => this.wake?.());
    req.on('end', () => {
      this.ended = true;
      this.wake?.();
    });
    req.on('error', (err) => this.fail(err));
    req.on('close', () => {
      if (!this.ended) this.fail(new Error('client closed the connection before the body ended'));
    });
  }

  private fail(err: Error): void {
    if (this.failure || this.ended) return;
    this.failure = new Error(`tsgi.input: request body read error: ${err.message}`, { cause: err });
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
    return out;
  }
}

export function createInput(req: IncomingMessage): RequestInput {
  return new RequestInput(req);
}
