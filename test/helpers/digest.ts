/**
 * A Digest (RFC 7616, MD5, qop=auth) client for tests that need to craft what
 * curl would not send: a replayed nc, a nonce from another worker, a wrong uri.
 */
import { createHash, randomBytes } from 'node:crypto';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** The parameters of a `Digest ...` WWW-Authenticate value. */
export function parseChallenge(header: string | string[] | undefined): Record<string, string> {
  const text = String(header ?? '');
  if (!/^Digest /i.test(text)) throw new Error(`not a Digest challenge: ${text}`);
  const params: Record<string, string> = {};
  for (const m of text.slice(7).matchAll(/([a-z]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/gi)) {
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
  }
  return params;
}

export interface DigestArgs {
  user: string;
  password: string;
  realm: string;
  nonce: string;
  uri: string;
  method?: string;
  nc?: number;
  cnonce?: string;
  opaque?: string;
  /** Extra text appended as-is (to test repeated or odd parameters). */
  extra?: string;
}

export function digestAuthorization(a: DigestArgs): string {
  const nc = (a.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = a.cnonce ?? randomBytes(8).toString('hex');
  const ha1 = md5(`${a.user}:${a.realm}:${a.password}`);
  const ha2 = md5(`${a.method ?? 'GET'}:${a.uri}`);
  const response = md5(`${ha1}:${a.nonce}:${nc}:${cnonce}:auth:${ha2}`);
  const opaque = a.opaque === undefined ? '' : `, opaque="${a.opaque}"`;
  return (
    `Digest username="${a.user}", realm="${a.realm}", nonce="${a.nonce}", uri="${a.uri}", ` +
    `algorithm=MD5, qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}"${opaque}${a.extra ?? ''}`
  );
}
