/**
 * tsgi.input over a byte source that is opened only when the application first
 * reads: the fetch and node adapters hand the body to the app in their own form
 * (Request body, IncomingMessage) and must not start a second reader of it.
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

export function lazyInput(open: () => AsyncIterable<Uint8Array> | null): Input {
  let iterator: AsyncIterator<Uint8Array> | undefined;
  let pending: Uint8Array = EMPTY;
  let ended = false;

  /** The next non-empty chunk: the leftover of a sized read first, then the source. */
  async function next(): Promise<Uint8Array | undefined> {
    if (pending.length > 0) {
      const chunk = pending;
      pending = EMPTY;
      return chunk;
    }
    if (ended) return undefined;
    if (iterator === undefined) {
      const source = open();
      if (source === null) {
        ended = true;
        return undefined;
      }
      iterator = source[Symbol.asyncIterator]();
    }
    for (;;) {
      const result = await iterator.next();
      if (result.done) {
        ended = true;
        return undefined;
      }
      // Node streams may hand out strings only when an encoding was set; the body never has one.
      if (result.value.length > 0) return result.value;
    }
  }

  async function read(size?: number): Promise<Uint8Array> {
    if (size !== undefined && (!Number.isInteger(size) || size < 0)) {
      throw new RangeError(`tsgi.input.read(size): size must be a non-negative integer, got ${size}`);
    }
    const limit = size ?? Infinity;
    const parts: Uint8Array[] = [];
    let total = 0;
    while (total < limit) {
      const chunk = await next();
      if (chunk === undefined) break;
      const room = limit - total;
      if (chunk.length > room) {
        parts.push(chunk.subarray(0, room));
        pending = chunk.subarray(room);
        total += room;
      } else {
        parts.push(chunk);
        total += chunk.length;
      }
    }
    return total === 0 ? EMPTY : concat(parts, total);
  }

  return {
    read,
    async *[Symbol.asyncIterator]() {
      for (let chunk = await next(); chunk !== undefined; chunk = await next()) yield chunk;
    },
  };
}
