/**
 * Checks a password against an htpasswd hash. The password is the bytes the
 * client sent, so a non-ASCII password matches what htpasswd hashed from the
 * bytes typed, whichever encoding the client used.
 *
 * - bcrypt (`$2y$`, `$2a$`, `$2b$`): the `bcrypt` package, which runs the hash
 *   on libuv's thread pool: a bcrypt check (milliseconds at htpasswd's default
 *   cost, a quarter of a second at cost 12) never blocks the worker's event loop.
 *   `$2y$` (Apache's, PHP's) is the same algorithm as `$2b$`, which is the
 *   prefix the library knows.
 * - Apache MD5 (`$apr1$`, and glibc's `$1$`): the `apache-md5` package.
 * - `{SHA}`: SHA-1, base64 (node:crypto).
 * - SHA-crypt (`$5$`, `$6$`): sha-crypt.ts.
 * Results are compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import type { HtpasswdEntry } from './password-file.js';
import { parseShaCrypt, shaCrypt } from './sha-crypt.js';

const require = createRequire(import.meta.url);

type Bcrypt = { compare(data: Buffer, encrypted: string): Promise<boolean> };
type AprMd5 = (password: string, salt: string) => string;

// Loaded on first use: a worker whose file holds no bcrypt entry never loads the addon.
let bcrypt: Bcrypt | undefined;
let aprMd5: AprMd5 | undefined;

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function verifyPassword(entry: HtpasswdEntry, password: Buffer): boolean | Promise<boolean> {
  switch (entry.scheme) {
    case 'bcrypt':
      bcrypt ??= require('bcrypt') as Bcrypt;
      return bcrypt.compare(password, entry.hash.replace(/^\$2y\$/, '$2b$'));
    case 'md5crypt':
      aprMd5 ??= require('apache-md5') as AprMd5;
      // apache-md5 hashes a string's char codes as bytes: latin1 gives it the bytes as sent.
      return sameText(aprMd5(password.toString('latin1'), entry.hash), entry.hash);
    case 'sha1':
      return sameText('{SHA}' + createHash('sha1').update(password).digest('base64'), entry.hash);
    case 'sha-crypt':
      return sameText(shaCrypt(password, parseShaCrypt(entry.hash)!), entry.hash);
  }
}
