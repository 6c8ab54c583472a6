/**
 * Range requests (RFC 9110 14): range-parser reads the header (as Express's
 * static files do, overlapping ranges combined); one range is a plain 206, and
 * several are a 206 multipart/byteranges body, which `send` does not make (it
 * answers them with the whole file).
 */
import { randomBytes } from 'node:crypto';
import parseRange from 'range-parser';

/** More ranges than this in one request is not a download resuming: the whole file is sent (Apache: MaxRanges). */
const MAX_RANGES = 100;

export interface ByteRange {
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
}

/** 'ignore': send the whole file; 'unsatisfiable': 416. */
export function parseRanges(header: string, size: number): ByteRange[] | 'ignore' | 'unsatisfiable' {
  let commas = 0;
  for (let i = header.indexOf(','); i >= 0; i = header.indexOf(',', i + 1)) if (++commas >= MAX_RANGES) return 'ignore';
  const parsed = parseRange(size, header, { combine: true });
  if (parsed === -2) return 'ignore';
  if (parsed === -1) return 'unsatisfiable';
  if (parsed.type !== 'bytes') return 'ignore';
  return parsed;
}

export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}

export interface Multipart {
  readonly contentType: string;
  /** The bytes before each range's body. */
  readonly heads: readonly Buffer[];
  readonly tail: Buffer;
  readonly length: number;
}

/** The framing of a multipart/byteranges body (RFC 9110 14.6) and its exact length. */
export function multipart(ranges: readonly ByteRange[], size: number, type: string): Multipart {
  const boundary = randomBytes(12).toString('hex');
  const heads = ranges.map((range, i) =>
    Buffer.from(`${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: ${contentRange(range, size)}\r\n\r\n`),
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  let length = tail.length;
  for (let i = 0; i < ranges.length; i++) length += heads[i]!.length + ranges[i]!.end - ranges[i]!.start + 1;
  return { contentType: `multipart/byteranges; boundary=${boundary}`, heads, tail, length };
}
