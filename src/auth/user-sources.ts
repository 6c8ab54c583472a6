/**
 * Where users come from: an --auth-user-script, an htpasswd file or an htdigest
 * file, behind one interface the authenticate stage calls. Each answer is a
 * value or a Promise of one (a synchronous script keeps the request
 * synchronous); a script that throws or rejects becomes an `error` answer with
 * its source-mapped stack.
 */
import type { Log } from '../logging/log.js';
import { formatError } from '../pipeline/error-response.js';
import { checkPasswordVerdict, membershipVerdict, realmHashVerdict, type Membership, type RealmHash, type Verdict } from './contracts.js';
import type { BasicCredentials } from './credentials.js';
import { parseHtdigest, parseHtpasswd, type HtdigestFile, type HtpasswdEntry } from './password-file.js';
import { ABANDONED, dummyEntry, PasswordChecks, type CheckRequest } from './password-checks.js';
import type { ScriptEnviron } from './script-environ.js';
import { VerifiedCredentials } from './verified-cache.js';

export type MaybePromise<T> = T | Promise<T>;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/** Calls fn, then read(result) now or when its Promise settles; a throw or rejection goes to fail(err). */
export function callScript<T>(fn: () => unknown, read: (value: unknown) => T, fail: (err: unknown) => T): MaybePromise<T> {
  let result: unknown;
  try {
    result = fn();
  } catch (err) {
    return fail(err);
  }
  return isThenable(result) ? Promise.resolve(result).then(read, fail) : read(result);
}

/** Runs next(value) now, or when the Promise resolves. */
export function andThen<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}

const threw = (name: string) => (err: unknown) => ({ kind: 'error' as const, rule: `${name} threw: ${formatError(err)}` });

export type EnvironFactory = () => ScriptEnviron;

const NOT_FOUND: Verdict = { kind: 'denied', reason: 'user not found' };
const GONE: Verdict = { kind: 'abandoned' };

export interface UserSource {
  /** Basic: who these credentials belong to, or why not. */
  checkBasic(environ: EnvironFactory, credentials: BasicCredentials, request?: CheckRequest): MaybePromise<Verdict>;
  /** Digest: the hex MD5 of user:realm:password, or why not. */
  realmHash(environ: EnvironFactory, user: string, realm: string): MaybePromise<RealmHash>;
}

type ScriptFn = (...args: unknown[]) => unknown;

/** --auth-user-script: checkPassword and getRealmHash. */
export class ScriptUsers implements UserSource {
  constructor(private readonly exports: { checkPassword?: ScriptFn; getRealmHash?: ScriptFn }) {}

  checkBasic(environ: EnvironFactory, { user, passwordText }: BasicCredentials): MaybePromise<Verdict> {
    const fn = this.exports.checkPassword!;
    return callScript(() => fn(environ(), user, passwordText), (v) => checkPasswordVerdict(v, user), threw('checkPassword'));
  }

  realmHash(environ: EnvironFactory, user: string, realm: string): MaybePromise<RealmHash> {
    const fn = this.exports.getRealmHash!;
    return callScript(() => fn(environ(), user, realm), realmHashVerdict, threw('getRealmHash'));
  }
}

/**
 * --auth-user-file: an htpasswd file, with a cache of recently verified credentials
 * (verified-cache.ts), checks capped and unknown users checked against a dummy
 * entry (password-checks.ts).
 */
export class HtpasswdUsers implements UserSource {
  private users: Map<string, HtpasswdEntry>;
  private dummy: HtpasswdEntry | undefined;
  private readonly verified = new VerifiedCredentials();
  private readonly checks: PasswordChecks;

  constructor(text: string, log?: Log) {
    this.users = parseHtpasswd(text);
    this.dummy = dummyEntry(this.users);
    this.checks = new PasswordChecks(log);
  }

  /** A new version of the file (already checked by the master): the cache goes with the old one. */
  replace(text: string): void {
    this.users = parseHtpasswd(text);
    this.dummy = dummyEntry(this.users);
    this.verified.clear();
  }

  checkBasic(_environ: EnvironFactory, { user, password }: BasicCredentials, request?: CheckRequest): MaybePromise<Verdict> {
    const entry = this.users.get(user);
    if (entry === undefined) {
      // The same work as a wrong password, so that the time taken does not say which users exist.
      if (this.dummy === undefined) return NOT_FOUND;
      return andThen(this.checks.verify(this.dummy, password, request), (ok) => (ok === ABANDONED ? GONE : NOT_FOUND));
    }
    if (this.verified.has(user, password)) return { kind: 'user', user };
    const users = this.users;
    return andThen(this.checks.verify(entry, password, request), (ok): Verdict => {
      if (ok === ABANDONED) return GONE;
      // A check that finished after the file changed says nothing about the new file.
      if (ok && users === this.users) this.verified.add(user, password);
      return ok ? { kind: 'user', user } : { kind: 'denied', reason: 'password mismatch' };
    });
  }

  realmHash(): RealmHash {
    return { kind: 'error', rule: 'an htpasswd file cannot answer Digest' };
  }
}

/** --auth-digest-file: an htdigest file. */
export class HtdigestUsers implements UserSource {
  private file: HtdigestFile;

  constructor(text: string) {
    this.file = parseHtdigest(text);
  }

  replace(text: string): void {
    this.file = parseHtdigest(text);
  }

  get realms(): ReadonlySet<string> {
    return this.file.realms;
  }

  checkBasic(): Verdict {
    return { kind: 'error', rule: 'an htdigest file cannot answer Basic' };
  }

  realmHash(_environ: EnvironFactory, user: string, realm: string): RealmHash {
    const ha1 = this.file.hashes.get(`${user}:${realm}`);
    return ha1 === undefined ? { kind: 'denied', reason: 'user not found' } : { kind: 'hash', ha1 };
  }
}

/** --auth-group-script's groupsForUser, against --auth-group. */
export function askGroups(fn: ScriptFn, environ: ScriptEnviron, user: string, group: string): MaybePromise<Membership> {
  return callScript(
    () => fn(environ, user),
    (value) => membershipVerdict(value, group),
    (err): Membership => ({ member: false, reason: `groupsForUser threw: ${formatError(err)}`, broken: true }),
  );
}
