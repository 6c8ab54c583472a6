/**
 * --user and --group: names (or numeric ids, also written `#1001` as Apache
 * does) looked up in the system's account database, through `getent` (which
 * asks NSS, so LDAP and the like work too) or, where there is no getent,
 * /etc/passwd and /etc/group. Runs in the parse process, at start-up only.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { text } from './schema-helpers.js';

export interface Account {
  readonly name: string;
  readonly uid: number;
  /** The user's primary group. */
  readonly gid: number;
  readonly home: string;
}

export interface Group {
  readonly name: string;
  readonly gid: number;
}

function entry(database: 'passwd' | 'group', key: string): string[] | undefined {
  try {
    const line = execFileSync('getent', [database, key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return line.trim().split(':');
  } catch (err) {
    // getent exits 2 for a key it does not know; anything else: no getent here.
    if ((err as { status?: number }).status === 2) return undefined;
  }
  const byId = /^\d+$/.test(key);
  for (const line of readFileSync(`/etc/${database}`, 'utf8').split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 3 && (byId ? fields[2] === key : fields[0] === key)) return fields;
  }
  return undefined;
}

/** `#1001` means the id 1001. */
function key(value: string): string {
  return value.startsWith('#') && /^#\d+$/.test(value) ? value.slice(1) : value;
}

export function lookupUser(value: string): Account | undefined {
  const fields = entry('passwd', key(value));
  if (!fields) return undefined;
  return { name: fields[0]!, uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5] ?? '/' };
}

export function lookupGroup(value: string): Group | undefined {
  const fields = entry('group', key(value));
  if (!fields) return undefined;
  return { name: fields[0]!, gid: Number(fields[2]) };
}

const accountShape = z.object({ name: z.string(), uid: z.number().int(), gid: z.number().int(), home: z.string() }).strict();
const groupShape = z.object({ name: z.string(), gid: z.number().int() }).strict();

/**
 * The schema of --user: a user name (or #uid), resolved to its account; unknown
 * users are refused. An account already resolved (the Config parsed again)
 * passes as it is.
 */
export function userAccount() {
  return z.union([text('a user name'), accountShape]).transform((value, ctx) => {
    if (typeof value !== 'string') return value;
    const account = lookupUser(value);
    if (account) return account;
    ctx.addIssue({ code: 'custom', message: 'names no user on this system (see getent passwd)' });
    return z.NEVER;
  });
}

/** The schema of --group: a group name (or #gid), resolved; unknown groups are refused. */
export function groupAccount() {
  return z.union([text('a group name'), groupShape]).transform((value, ctx) => {
    if (typeof value !== 'string') return value;
    const group = lookupGroup(value);
    if (group) return group;
    ctx.addIssue({ code: 'custom', message: 'names no group on this system (see getent group)' });
    return z.NEVER;
  });
}
