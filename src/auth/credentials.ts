/**
 * The Authorization header, read strictly: its scheme, Basic credentials
 * (RFC 7617) and Digest parameters (RFC 7616). Anything malformed is a
 * `{ problem }`, which the server answers with 400; nothing here throws.
 */

export interface Problem {
  readonly problem: string;
}

export function isProblem(value: unknown): value is Problem {
  return typeof value === 'object' && value !== null && 'problem' in value;
}

/** `Scheme rest`: the scheme (as sent) and what follows it. */
export function splitScheme(header: string): { scheme: string; rest: string } {
  const trimmed = header.trim();
  const space = trimmed.search(/[ \t]/);
  if (space < 0) return { scheme: trimmed, rest: '' };
  return { scheme: trimmed.slice(0, space), rest: trimmed.slice(space).trim() };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 (RFC 7617's charset="UTF-8"), or latin-1 for bytes that are not UTF-8, as Apache reads them. */
export function decodeText(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return Buffer.from(bytes).toString('latin1');
  }
}

export interface BasicCredentials {
  readonly user: string;
  /** The password's bytes as sent (what htpasswd hashes compare against). */
  readonly password: Buffer;
  /** The password decoded like the user name (what checkPassword receives). */
  readonly passwordText: string;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** token68 after `Basic`: base64 of `user:password`; the password may hold ':'. */
export function parseBasic(token: string): BasicCredentials | Problem {
  if (token === '' || !BASE64.test(token) || token.length % 4 === 1) {
    return { problem: 'The Basic credentials are not valid base64.' };
  }
  const bytes = Buffer.from(token, 'base64');
  const colon = bytes.indexOf(0x3a);
  if (colon < 0) return { problem: "The Basic credentials have no ':' between the user name and the password." };
  const password = bytes.subarray(colon + 1);
  return { user: decodeText(bytes.subarray(0, colon)), password, passwordText: decodeText(password) };
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * RFC 7235's `#auth-param` list: `name=token` or `name="quoted string"`, comma
 * separated. Names are lower-cased; a repeated name is a problem (which of two
 * `uri`s would the server check?).
 */
export function parseAuthParams(text: string): Map<string, string> | Problem {
  const params = new Map<string, string>();
  let i = 0;
  const skipSpace = () => {
    while (text[i] === ' ' || text[i] === '\t') i++;
  };
  const token = (): string => {
    const start = i;
    while (i < text.length && TOKEN.test(text[i]!)) i++;
    return text.slice(start, i);
  };
  while (i < text.length) {
    skipSpace();
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (i >= text.length) break;
    const name = token().toLowerCase();
    if (name === '') return { problem: `The Authorization header has an unexpected character at position ${i}.` };
    skipSpace();
    if (text[i] !== '=') return { problem: `The Authorization parameter ${name} has no value.` };
    i++;
    skipSpace();
    let value: string;
    if (text[i] === '"') {
      i++;
      value = '';
      for (;;) {
        if (i >= text.length) return { problem: `The Authorization parameter ${name} has an unterminated quoted string.` };
        const c = text[i++]!;
        if (c === '"') break;
        value += c === '\\' && i < text.length ? text[i++]! : c;
      }
    } else {
      value = token();
      if (value === '') return { problem: `The Authorization parameter ${name} has an empty value.` };
    }
    if (params.has(name)) return { problem: `The Authorization parameter ${name} is given twice.` };
    params.set(name, value);
    skipSpace();
    if (i < text.length && text[i] !== ',') return { problem: `The Authorization parameter ${name} is not followed by ','.` };
  }
  return params;
}

export interface DigestCredentials {
  readonly user: string;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  readonly response: string;
  readonly nc: string;
  readonly cnonce: string;
  readonly opaque: string | undefined;
}

/** RFC 8187 ext-value, as `username*` carries a name that is not ASCII: UTF-8''percent-encoded. */
function extValue(value: string): string | undefined {
  const m = /^UTF-8'[^']*'(.*)$/i.exec(value);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
}

const REQUIRED = ['realm', 'nonce', 'uri', 'response', 'qop', 'nc', 'cnonce'] as const;

/** Digest parameters for qop=auth and MD5, the only kind this server offers. */
export function parseDigest(rest: string): DigestCredentials | Problem {
  const params = parseAuthParams(rest);
  if (isProblem(params)) return params;
  for (const name of REQUIRED) {
    if (!params.has(name)) return { problem: `The Digest credentials lack the ${name} parameter.` };
  }
  const plain = params.get('username');
  const ext = params.get('username*');
  if ((plain === undefined) === (ext === undefined)) {
    return { problem: 'The Digest credentials must have exactly one of username and username*.' };
  }
  // A quoted username holds the bytes as sent (Node reads header bytes as latin-1 characters).
  const user = plain !== undefined ? decodeText(Buffer.from(plain, 'latin1')) : extValue(ext!);
  if (user === undefined) return { problem: "The Digest username* is not UTF-8''percent-encoded." };
  if (params.get('userhash')?.toLowerCase() === 'true') return { problem: 'userhash was not offered.' };
  const algorithm = params.get('algorithm');
  if (algorithm !== undefined && algorithm.toUpperCase() !== 'MD5') {
    return { problem: `The Digest algorithm ${algorithm} was not offered (only MD5).` };
  }
  if (params.get('qop')!.toLowerCase() !== 'auth') return { problem: 'The Digest qop must be auth.' };
  const nc = params.get('nc')!;
  if (!/^[0-9a-fA-F]{8}$/.test(nc)) return { problem: 'The Digest nc must be 8 hex digits.' };
  const response = params.get('response')!;
  if (!/^[0-9a-fA-F]{32}$/.test(response)) return { problem: 'The Digest response must be 32 hex digits.' };
  return {
    user,
    realm: params.get('realm')!,
    nonce: params.get('nonce')!,
    uri: params.get('uri')!,
    response: response.toLowerCase(),
    nc: nc.toLowerCase(),
    cnonce: params.get('cnonce')!,
    opaque: params.get('opaque'),
  };
}

/** A quoted-string for a challenge parameter. */
export function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}
