/**
 * The access-control options checked together (resolve.ts calls this): files
 * that must exist, combinations that mean nothing, password files read once
 * here so that a bad line stops the server at start with its line number.
 * Every failure is a UsageError naming the flag.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { parseHtdigest, parseHtpasswd, PasswordFileError } from '../auth/password-file.js';

export const AUTH_SCRIPT_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];

type Values = Record<string, unknown>;

function existingFile(flag: string, given: unknown, cwd: string): string | undefined {
  if (given === undefined) return undefined;
  const file = path.resolve(cwd, given as string);
  if (!existsSync(file)) throw new UsageError(`--${flag} ${file}: no such file`);
  if (!statSync(file).isFile()) throw new UsageError(`--${flag} ${file}: not a file`);
  return file;
}

function script(flag: string, given: unknown, cwd: string): string | undefined {
  const file = existingFile(flag, given, cwd);
  if (file !== undefined && !AUTH_SCRIPT_EXTENSIONS.includes(path.extname(file))) {
    throw new UsageError(`--${flag} ${file}: unsupported extension (expected one of ${AUTH_SCRIPT_EXTENSIONS.join(' ')})`);
  }
  return file;
}

function readPasswordFile<T>(flag: string, file: string, parse: (text: string) => T): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--${flag} ${file}: cannot be read (${(err as Error).message})`);
  }
  try {
    return parse(text);
  } catch (err) {
    if (err instanceof PasswordFileError) throw new UsageError(`--${flag} ${file} ${err.message}`);
    throw err;
  }
}

/** `/trac/login/` -> `/trac/login`; repeated slashes merged; dot segments refused (they never match a normalised path). */
function location(given: string): string {
  if (!given.startsWith('/')) throw new UsageError(`--auth-location must start with '/' (got ${JSON.stringify(given)})`);
  if (/[?#]/.test(given)) throw new UsageError(`--auth-location is a path, without '?' or '#' (got ${JSON.stringify(given)})`);
  const merged = given.replace(/\/{2,}/g, '/');
  if (merged.split('/').some((s) => s === '.' || s === '..')) {
    throw new UsageError(`--auth-location must not hold '.' or '..' segments (got ${JSON.stringify(given)})`);
  }
  return merged.length > 1 ? merged.replace(/\/$/, '') : merged;
}

/** What needs a user method, and the flag it is. */
const NEEDS_USERS: [key: string, flag: string][] = [
  ['authGroupScript', 'auth-group-script'],
  ['authRealm', 'auth-realm'],
  ['authLocation', 'auth-location'],
  ['authNonceLifetime', 'auth-nonce-lifetime'],
  ['authType', 'auth-type'],
];

/**
 * `v`: validated values (defaults filled in); `raw`: what the user gave.
 * Returns the values to put in the Config in their place.
 */
export function resolveAuthOptions(v: Values, raw: Values, cwd: string): Values {
  const userScript = script('auth-user-script', v.authUserScript, cwd);
  const groupScript = script('auth-group-script', v.authGroupScript, cwd);
  const hostScript = script('host-access-script', v.hostAccessScript, cwd);
  const userFile = existingFile('auth-user-file', v.authUserFile, cwd);
  const digestFile = existingFile('auth-digest-file', v.authDigestFile, cwd);

  const methods = [userScript && '--auth-user-script', userFile && '--auth-user-file', digestFile && '--auth-digest-file'].filter(Boolean);
  if (methods.length > 1) throw new UsageError(`${methods.join(' and ')} are two ways to find users: give one`);
  if (methods.length === 0) {
    for (const [key, flag] of NEEDS_USERS) {
      if (raw[key] !== undefined) {
        throw new UsageError(`--${flag} needs a way to authenticate users: --auth-user-script, --auth-user-file or --auth-digest-file`);
      }
    }
  }
  if (raw.authGroup !== undefined && !groupScript) throw new UsageError('--auth-group needs --auth-group-script, which says which groups a user is in');

  let authType = v.authType as string;
  if (digestFile) {
    if (raw.authType === 'Basic') throw new UsageError('--auth-type Basic cannot be used with --auth-digest-file, which holds Digest hashes');
    authType = 'Digest';
  }
  if (userFile && authType === 'Digest') {
    throw new UsageError('--auth-type Digest cannot be used with --auth-user-file: htpasswd hashes cannot answer a Digest challenge (make an htdigest file and use --auth-digest-file)');
  }
  if (raw.authNonceLifetime !== undefined && authType !== 'Digest') throw new UsageError('--auth-nonce-lifetime applies to --auth-type Digest only');

  if (userFile) readPasswordFile('auth-user-file', userFile, parseHtpasswd);
  if (digestFile) {
    const { realms } = readPasswordFile('auth-digest-file', digestFile, parseHtdigest);
    const realm = (v.authRealm as string | undefined) ?? (v.port === 0 ? undefined : `${(v.host as string | undefined) ?? 'localhost'}:${v.port}`);
    if (realm !== undefined && realms.size > 0 && !realms.has(realm)) {
      const list = [...realms].map((r) => JSON.stringify(r)).join(', ');
      throw new UsageError(`--auth-digest-file ${digestFile} has no entry for the realm "${realm}" (it has ${list}): give --auth-realm`);
    }
  }
  return {
    authUserScript: userScript,
    authGroupScript: groupScript,
    hostAccessScript: hostScript,
    authUserFile: userFile,
    authDigestFile: digestFile,
    authType,
    authLocation: (v.authLocation as string[]).map(location),
  };
}
