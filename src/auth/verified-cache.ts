/**
 * A small cache of credentials an htpasswd file verified recently, so that a
 * browser sending the same Basic credentials with every request pays for bcrypt
 * once a minute rather than once a request.
 *
 * Safe by construction: the key is an HMAC (under a key made per process and
 * never shown) of the user and password, so no password is kept; only successes
 * are cached; an entry expires TTL after the check that made it (a hit does not
 * extend it); at most MAX entries (the oldest goes first); and the whole cache
 * is emptied when the file changes, so a removed user or changed password stops
 * working at once. A hit proves the client knows a password the file accepted
 * within the last TTL, which is what the check itself would prove.
 */
import { createHmac, randomBytes } from 'node:crypto';

const MAX = 1024;
const TTL_MS = 60_000;

export class VerifiedCredentials {
  private readonly key = randomBytes(32);
  /** HMAC -> expiry (performance.now() ms); Map order is insertion order, oldest first. */
  private readonly entries = new Map<string, number>();

  constructor(
    private readonly max = MAX,
    private readonly ttlMs = TTL_MS,
  ) {}

  private keyOf(user: string, password: Buffer): string {
    // The name's length first, so no (user, password) split of the same bytes shares a key.
    return createHmac('sha256', this.key).update(`${Buffer.byteLength(user)}:${user}`).update(password).digest('base64');
  }

  has(user: string, password: Buffer): boolean {
    const key = this.keyOf(user, password);
    const expires = this.entries.get(key);
    if (expires === undefined) return false;
    if (expires > performance.now()) return true;
    this.entries.delete(key);
    return false;
  }

  add(user: string, password: Buffer): void {
    const key = this.keyOf(user, password);
    this.entries.delete(key);
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, performance.now() + this.ttlMs);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
