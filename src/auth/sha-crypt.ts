/**
 * SHA-crypt (`$5$` SHA-256, `$6$` SHA-512), the scheme of glibc's crypt(3) that
 * `htpasswd -2` and `htpasswd -5` write, after Ulrich Drepper's specification
 * ("Unix crypt using SHA-256 and SHA-512"). Written here rather than taken from a
 * package: none that is kept covers both variants (sha512crypt-node does `$6$`
 * only and ships a test runner as a runtime dependency). Checked against the
 * specification's test vectors and against htpasswd's output (test/unit/auth-hashes.test.ts).
 */
import { hash } from 'node:crypto';

const B64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DEFAULT_ROUNDS = 5000;
const MIN_ROUNDS = 1000;
const MAX_ROUNDS = 999_999_999;

/** The specification's byte order for the final encoding: triples, then the tail. */
const ORDER_256 = [
  [0, 10, 20], [21, 1, 11], [12, 22, 2], [3, 13, 23], [24, 4, 14],
  [15, 25, 5], [6, 16, 26], [27, 7, 17], [18, 28, 8], [9, 19, 29],
];
const ORDER_512 = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48],
  [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13],
  [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
];

function b64From24(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < n; i++) {
    out += B64[w & 0x3f];
    w >>= 6;
  }
  return out;
}

/** `len` bytes of `block` repeated. */
function repeatTo(block: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i += block.length) block.copy(out, i, 0, Math.min(block.length, len - i));
  return out;
}

function encode(variant: '5' | '6', c: Buffer): string {
  let out = '';
  for (const [a, b, d] of variant === '5' ? ORDER_256 : ORDER_512) out += b64From24(c[a!]!, c[b!]!, c[d!]!, 4);
  return out + (variant === '5' ? b64From24(0, c[31]!, c[30]!, 3) : b64From24(0, 0, c[63]!, 2));
}

export interface ShaCryptSetting {
  readonly variant: '5' | '6';
  readonly rounds: number;
  /** Whether the setting spelt out `rounds=N$` (then the result does too). */
  readonly explicitRounds: boolean;
  readonly salt: string;
}

/** Parses `$5$[rounds=N$]salt[$hash]`; undefined when it is not one. */
export function parseShaCrypt(text: string): ShaCryptSetting | undefined {
  const m = /^\$([56])\$(?:rounds=(\d{1,9})\$)?([^$]{0,16})[^$]*(?:\$[./0-9A-Za-z]*)?$/.exec(text);
  if (!m) return undefined;
  const given = m[2] === undefined ? undefined : Number(m[2]);
  const rounds = given === undefined ? DEFAULT_ROUNDS : Math.min(MAX_ROUNDS, Math.max(MIN_ROUNDS, given));
  return { variant: m[1] as '5' | '6', rounds, explicitRounds: given !== undefined, salt: m[3]! };
}

/** The crypt(3) string for `password` under `setting` (whose own hash part, if any, is ignored). */
export function shaCrypt(password: Buffer, setting: ShaCryptSetting): string {
  const alg = setting.variant === '5' ? 'sha256' : 'sha512';
  const H = (data: Buffer): Buffer => hash(alg, data, 'buffer');
  const P = password;
  const S = Buffer.from(setting.salt, 'latin1');
  const size = setting.variant === '5' ? 32 : 64;

  const B = H(Buffer.concat([P, S, P]));
  const aParts = [P, S, repeatTo(B, P.length)];
  for (let n = P.length; n > 0; n >>= 1) aParts.push(n & 1 ? B : P);
  const A = H(Buffer.concat(aParts));

  const DP = H(Buffer.concat(Array<Buffer>(P.length).fill(P)));
  const Pp = repeatTo(DP, P.length);
  const DS = H(Buffer.concat(Array<Buffer>(16 + A[0]!).fill(S)));
  const Sp = repeatTo(DS, S.length);

  let C = A;
  for (let i = 0; i < setting.rounds; i++) {
    const parts: Buffer[] = [i & 1 ? Pp : C];
    if (i % 3) parts.push(Sp);
    if (i % 7) parts.push(Pp);
    parts.push(i & 1 ? C : Pp);
    C = H(Buffer.concat(parts, (i & 1 ? Pp.length + size : size + Pp.length) + (i % 3 ? Sp.length : 0) + (i % 7 ? Pp.length : 0)));
  }
  const rounds = setting.explicitRounds ? `rounds=${setting.rounds}$` : '';
  return `$${setting.variant}$${rounds}${setting.salt}$${encode(setting.variant, C)}`;
}
