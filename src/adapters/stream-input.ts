/**
 * tsgi.input over a byte source that is opened only when the application first
 * reads: the fetch and node adapters hand the body to the app in their own form
 * (Request body, IncomingMessage) and must not start a second reader of it.
 *
 * One object per request and no closures: most requests never read tsgi.input,
 * so what matters is what it costs to make one.
 */
import type { Input } from '../index.js';

const EMPTY = new Uint8Array(0);

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Where the bytes come from: its `body` is read once, on the first read (a fetch Request is one). */
export interface BodySource {
  readonly body: AsyncIterable<Uint8Array> | null;
}

class LazyInput implements Input {
  #source: BodySource;
  #iterator: AsyncIterator<Uint8Array> | undefined = undefined;
  #pending: Uint8Array = EMPTY;
  #ended = false;

  constructor(source: BodySource) {
    this.#source = source;
  }

  /** The next non-empty chunk: the leftover of a sized read first, then the source. */
  async #next(): Promise<Uint8Array | undefined> {
    if (this.#pending.length > 0) {
      const chunk = this.#pending;
      this.#pending = EMPTY;
      return chunk;
    }
    if (this.#ended) return undefined;
    if (this.#iterator === undefined) {
      const body = this.#source.body;
      if (body === null) {
        this.#ended = true;
        return undefined;
      }
      this.#iterator = body[Symbol.asyncIterator]();
    }
    for (;;) {
      const result = await this.#iterator.next();
      if (result.done) {
        this.#ended = true;
        return undefined;
      }
      // Node streams may hand out strings only when an encoding was set; the body never has one.
      if (result.value.length > 0) return result.value;
    }
  }

  async read(size?: number): Promise<Uint8Array> {
    if (size !== undefined && (!Number.isInteger(size) || size < 0)) {
      throw new RangeError(`tsgi.input.read(size): size must be a non-negative integer, got ${size}`);
    }
    const limit = size ?? Infinity;
    const parts: Uint8Array[] = [];
    let total = 0;
    while (total < limit) {
      const chunk = await this.#next();
      if (chunk === undefined) break;
      const room = limit - total;
      if (chunk.length > room) {
        parts.push(chunk.subarray(0, room));
        this.#pending = chunk.subarray(room);
        total += room;
      } else {
        parts.push(chunk);
        total += chunk.length;
      }
    }
    return total === 0 ? EMPTY : concat(parts, total);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (let chunk = await this.#next(); chunk !== undefined; chunk = await this.#next()) yield chunk;
  }
}

export function lazyInput(source: BodySource): Input {
  return new LazyInput(source);
}
