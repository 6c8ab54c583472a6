/**
 * What the values the access-control scripts return mean: the return-value
 * tables of mod_wsgi's WSGIAuthUserScript, WSGIAuthGroupScript and
 * WSGIAccessScript (docs/authentication.md), one function each. Pure, so every
 * row is tested on its own (test/unit/auth-contracts.test.ts) as well as through
 * a real server.
 */

/**
 * An authentication answer: a user, a denial (401), or a broken rule (500); or
 * no answer, when the client left before its password was checked.
 */
export type Verdict =
  | { readonly kind: 'user'; readonly user: string }
  | { readonly kind: 'denied'; readonly reason: string }
  | { readonly kind: 'error'; readonly rule: string }
  | { readonly kind: 'abandoned' };

/** A short, safe description of a value a script returned, for the error log. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'object' || typeof value === 'function') {
    const name = (value as { constructor?: { name?: string } }).constructor?.name;
    return `${typeof value === 'function' ? 'a function' : 'an object'}${name ? ` (${name})` : ''}`;
  }
  return `${typeof value} ${String(value)}`;
}

/** checkPassword(environ, user, password): true | false | null/undefined | a user name. */
export function checkPasswordVerdict(value: unknown, user: string): Verdict {
  if (value === true) return { kind: 'user', user };
  if (value === false) return { kind: 'denied', reason: 'password mismatch' };
  if (value === null || value === undefined) return { kind: 'denied', reason: 'user not found' };
  if (typeof value === 'string') {
    if (value !== '') return { kind: 'user', user: value };
    return { kind: 'error', rule: 'checkPassword returned an empty string: a user name must not be empty (return true to keep the name given)' };
  }
  return {
    kind: 'error',
    rule: `checkPassword must return true, false, null/undefined or a user name (a non-empty string); it returned ${describeValue(value)}`,
  };
}

export type RealmHash =
  | { readonly kind: 'hash'; readonly ha1: string }
  | { readonly kind: 'denied'; readonly reason: string }
  | { readonly kind: 'error'; readonly rule: string };

const MD5_HEX = /^[0-9a-fA-F]{32}$/;

/** getRealmHash(environ, user, realm): the hex MD5 of user:realm:password, or null/undefined for no such user. */
export function realmHashVerdict(value: unknown): RealmHash {
  if (value === null || value === undefined) return { kind: 'denied', reason: 'user not found' };
  if (typeof value === 'string' && MD5_HEX.test(value)) return { kind: 'hash', ha1: value.toLowerCase() };
  const what = value === '' ? 'an empty string' : describeValue(value);
  return {
    kind: 'error',
    rule: `getRealmHash must return the 32 hex digits of MD5("user:realm:password"), or null/undefined for no such user; it returned ${what}`,
  };
}

export type Membership =
  | { readonly member: true }
  | { readonly member: false; readonly reason: string; readonly broken: boolean };

/**
 * groupsForUser(environ, user) -> an iterable of group names. Anything but a
 * member is a denial; a broken answer is one too (logged as broken). A string
 * is refused: it is iterable, but its items are characters, and a one-letter
 * --auth-group would then let in whoever's name held that letter.
 */
export function membershipVerdict(value: unknown, group: string): Membership {
  const broken = (reason: string): Membership => ({ member: false, reason, broken: true });
  if (typeof value === 'string' || value === null || typeof (value as Iterable<unknown>)?.[Symbol.iterator] !== 'function') {
    return broken(`groupsForUser must return an iterable of group names (an array, a Set); it returned ${describeValue(value)}`);
  }
  let any = false;
  let found = false;
  try {
    for (const item of value as Iterable<unknown>) {
      if (typeof item !== 'string') return broken(`groupsForUser returned an item that is not a string: ${describeValue(item)}`);
      any = true;
      if (item === group) found = true;
    }
  } catch (err) {
    return broken(`iterating what groupsForUser returned threw: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (found) return { member: true };
  return { member: false, reason: any ? `not a member of group "${group}"` : 'not a member of any group', broken: false };
}

export type Access = { readonly allow: true } | { readonly allow: false; readonly rule?: string };

/** allowAccess(environ, host): true or null/undefined go on, false or anything else is 403. */
export function accessVerdict(value: unknown): Access {
  if (value === true || value === null || value === undefined) return { allow: true };
  if (value === false) return { allow: false };
  return { allow: false, rule: `allowAccess must return true, false or null/undefined; it returned ${describeValue(value)}` };
}
