/**
 * Content codings the server can give a response (--compress-responses), and
 * which of them a request accepts, best first (negotiator reads the
 * Accept-Encoding q-values, as Express's compression does). Brotli wins a tie:
 * smaller than gzip at the same speed.
 */
import type { IncomingHttpHeaders } from 'node:http';
import Negotiator from 'negotiator';

export type Coding = 'br' | 'gzip';

const CODINGS: readonly Coding[] = ['br', 'gzip'];
type Encodings = (available: readonly string[], options: { preferred: readonly string[] }) => string[];

export function acceptedCodings(headers: IncomingHttpHeaders): Coding[] {
  if (headers['accept-encoding'] === undefined) return [];
  const negotiator = new Negotiator({ headers });
  return (negotiator.encodings as unknown as Encodings).call(negotiator, CODINGS, { preferred: CODINGS }) as Coding[];
}

/** The file holding a precompressed copy in that coding, beside the original. */
export function siblingName(file: string, coding: Coding): string {
  return coding === 'br' ? file + '.br' : file + '.gz';
}
