/**
 * htpasswd and htdigest files, parsed (pure: no hashing here). The parse process
 * uses this to refuse a bad file at start with its line number, the master to
 * check a changed file before handing it to the workers, and the workers to
 * build their user tables from the text the master hands them.
 */

/** The hash schemes of an htpasswd file this server verifies. */
export type HtpasswdScheme = 'bcrypt' | 'md5crypt' | 'sha1' | 'sha-crypt';

export interface HtpasswdEntry {
  readonly hash: string;
  readonly scheme: HtpasswdScheme;
}

/** A line that cannot be used: the message names the line, never its hash. */
export class PasswordFileError extends Error {
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = 'PasswordFileError';
  }
}

const BCRYPT = /^\$2[aby]\$\d\d\$[./0-9A-Za-z]{53}$/;
const MD5CRYPT = /^\$(?:apr1|1)\$[^$]{0,8}\$[./0-9A-Za-z]{22}$/;
const SHA1 = /^\{SHA\}[A-Za-z0-9+/]{27}=$/;
const SHA_CRYPT = /^\$[56]\$(?:rounds=\d{1,9}\$)?[^$]{0,16}\$[./0-9A-Za-z]{43}(?:[./0-9A-Za-z]{43})?$/;
const DES_CRYPT = /^[./0-9A-Za-z]{13}$/;

function scheme(hash: string, line: number): HtpasswdScheme {
  if (BCRYPT.test(hash)) return 'bcrypt';
  if (MD5CRYPT.test(hash)) return 'md5crypt';
  if (SHA1.test(hash)) return 'sha1';
  if (SHA_CRYPT.test(hash)) return 'sha-crypt';
  const remake = 're-create it with `htpasswd -B` (bcrypt)';
  if (DES_CRYPT.test(hash)) {
    throw new PasswordFileError(line, `a DES-crypt hash (htpasswd -d) is refused: it keeps only 8 characters of the password and is broken in minutes; ${remake}`);
  }
  if (/^\$[0-9a-z]+\$/.test(hash)) throw new PasswordFileError(line, `the hash scheme ${hash.split('$', 2).join('$')}$ is not supported; ${remake}`);
  throw new PasswordFileError(line, `a plain-text password (htpasswd -p) is refused; ${remake}`);
}

/** The lines that hold entries: blank lines and `#` comments are skipped, as Apache does. */
function* entryLines(text: string): Generator<[number, string]> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) continue;
    yield [i + 1, line];
  }
}

/** user -> entry. The first line for a user wins, as in Apache. */
export function parseHtpasswd(text: string): Map<string, HtpasswdEntry> {
  const users = new Map<string, HtpasswdEntry>();
  for (const [n, line] of entryLines(text)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new PasswordFileError(n, 'not a `user:hash` line');
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1).trim();
    const entry = { hash, scheme: scheme(hash, n) };
    if (!users.has(user)) users.set(user, entry);
  }
  return users;
}

export interface HtdigestFile {
  /** `user:realm` -> the hex MD5 of `user:realm:password`. */
  readonly hashes: Map<string, string>;
  readonly realms: Set<string>;
}

/** htdigest's `user:realm:hash` lines; the first line for a user and realm wins. */
export function parseHtdigest(text: string): HtdigestFile {
  const hashes = new Map<string, string>();
  const realms = new Set<string>();
  for (const [n, line] of entryLines(text)) {
    const m = /^([^:]+):([^:]*):([0-9a-fA-F]{32})\s*$/.exec(line);
    if (!m) throw new PasswordFileError(n, 'not a `user:realm:md5-hex` line (as htdigest writes)');
    const key = `${m[1]}:${m[2]}`;
    realms.add(m[2]!);
    if (!hashes.has(key)) hashes.set(key, m[3]!.toLowerCase());
  }
  return { hashes, realms };
}
