/**
 * How a worker runs htpasswd checks (password-hash.ts does one check):
 *
 * - No user enumeration by timing: a user the file does not hold is checked
 *   against a dummy entry of the kind and cost most of the file's entries have,
 *   so "no such user" costs what "wrong password" costs (Apache's mod_authn_file
 *   answers an unknown user at once; we do not).
 * - bcrypt checks run on libuv's thread pool (4 threads by default, shared with
 *   file I/O and DNS). At most BCRYPT_CONCURRENCY run at once per worker; the
 *   rest wait in arrival order, and one whose client has gone by the time its
 *   turn comes is dropped unstarted: a flood of guesses that hang up cannot
 *   queue seconds of hashing, nor starve the app's file reads.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Log } from '../logging/log.js';
import type { HtpasswdEntry } from './password-file.js';
import { verifyPassword } from './password-hash.js';

/** bcrypt checks running at once in one worker; documented in docs/authentication.md. */
export const BCRYPT_CONCURRENCY = 2;

/** What a check learns of the request it is for. */
export interface CheckRequest {
  /** The request id, for the debug log. */
  readonly id?: string;
  /** Whether the client has gone (its answer can no longer be sent). */
  readonly gone?: () => boolean;
}

/** The answer of a check that never ran: its client left while it waited. */
export const ABANDONED = Symbol('tsgi-express.checkAbandoned');

const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * The part of a hash that says its kind and cost: `$2y$10$`, `$apr1$`, `{SHA}`,
 * `$6$rounds=20000$` (`$6$` at the default rounds). Entries with the same label
 * cost the same to check.
 */
export function hashKind(hash: string): string {
  if (hash.startsWith('{SHA}')) return '{SHA}';
  const m = /^\$(2[aby]\$\d\d|apr1|1|[56](?:\$rounds=\d+)?)\$/.exec(hash);
  return m ? m[0] : hash.slice(0, 4);
}

/** `hash` with its checksum (what follows the salt) replaced by random characters of the same alphabet. */
function randomChecksum(entry: HtpasswdEntry): string {
  if (entry.scheme === 'sha1') return '{SHA}' + randomBytes(20).toString('base64');
  // bcrypt: `$2y$NN$` + 22 salt + 31 checksum characters; the crypt forms: `$...$salt$` + checksum.
  const keep = entry.scheme === 'bcrypt' ? entry.hash.length - 31 : entry.hash.lastIndexOf('$') + 1;
  let checksum = '';
  for (let i = keep; i < entry.hash.length; i++) checksum += CRYPT_ALPHABET[randomInt(64)];
  return entry.hash.slice(0, keep) + checksum;
}

/**
 * An entry no password matches (short of a preimage), checked at the same cost as
 * the kind of entry most users have (the first such kind in the file on a tie);
 * undefined for a file with no entries.
 */
export function dummyEntry(users: ReadonlyMap<string, HtpasswdEntry>): HtpasswdEntry | undefined {
  const counts = new Map<string, { entry: HtpasswdEntry; n: number }>();
  let best: { entry: HtpasswdEntry; n: number } | undefined;
  for (const entry of users.values()) {
    const kind = hashKind(entry.hash);
    const seen = counts.get(kind) ?? { entry, n: 0 };
    seen.n++;
    counts.set(kind, seen);
    if (best === undefined || seen.n > best.n) best = seen;
  }
  return best && { scheme: best.entry.scheme, hash: randomChecksum(best.entry) };
}

export class PasswordChecks {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly log?: Log,
    private readonly cap = BCRYPT_CONCURRENCY,
  ) {}

  /** Checks `password` against `entry`; ABANDONED when a bcrypt check's client left before its turn. */
  verify(entry: HtpasswdEntry, password: Buffer, request: CheckRequest = {}): boolean | Promise<boolean | typeof ABANDONED> {
    if (entry.scheme !== 'bcrypt') {
      this.started(entry, request);
      return verifyPassword(entry, password);
    }
    if (this.running < this.cap) return this.runBcrypt(entry, password, request);
    this.log?.debug(`password check waiting: ${this.running} of ${this.cap} bcrypt checks running, ${this.waiting.length + 1} waiting`, request.id);
    return new Promise<boolean | typeof ABANDONED>((resolve, reject) => {
      this.waiting.push(() => {
        if (request.gone?.()) {
          this.log?.debug(`password check not started: the client left while it waited (${this.waiting.length} waiting)`, request.id);
          resolve(ABANDONED);
          this.next();
          return;
        }
        this.runBcrypt(entry, password, request).then(resolve, reject);
      });
    });
  }

  private runBcrypt(entry: HtpasswdEntry, password: Buffer, request: CheckRequest): Promise<boolean> {
    this.running++;
    this.started(entry, request);
    return Promise.resolve(verifyPassword(entry, password)).finally(() => {
      this.running--;
      this.next();
    });
  }

  /** Starts the next waiting check, if a slot is free. */
  private next(): void {
    if (this.running < this.cap) this.waiting.shift()?.();
  }

  private started(entry: HtpasswdEntry, request: CheckRequest): void {
    this.log?.debug(`password check started: ${hashKind(entry.hash)} (${this.running} of ${this.cap} bcrypt checks running, ${this.waiting.length} waiting)`, request.id);
  }
}
