/**
 * Digest (RFC 7616, MD5, qop=auth): nonces, the expected response, challenges.
 *
 * A nonce is base64url(issued-at ms (6 bytes) | random (6) | HMAC-SHA256 of both
 * and the realm under the server's key, first 16 bytes). The key is made once by
 * the master and handed to every worker, so a nonce one worker issued verifies in
 * any other, and in the workers of a later generation; no table of issued nonces
 * is needed. That a nonce is answered at most once per `nc` is the master's
 * ledger's job (master/auth-nonce-ledger.ts).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { quote } from './credentials.js';

const MAC_BYTES = 16;
const NONCE_BYTES = 6 + 6 + MAC_BYTES;
/** Clocks of one machine agree; a nonce from the future was not made here. */
const FUTURE_SKEW_MS = 5_000;

export type NonceCheck =
  | { readonly kind: 'fresh'; readonly issuedAt: number }
  | { readonly kind: 'stale'; readonly issuedAt: number }
  | { readonly kind: 'invalid' };

/** MD5 hex of a header-derived string: Node gives header bytes as latin-1 characters, so they hash as sent. */
function md5(text: string): string {
  return createHash('md5').update(text, 'latin1').digest('hex');
}

export class NonceCodec {
  readonly opaque: string;

  constructor(
    private readonly key: Buffer,
    private readonly realm: string,
    private readonly lifetimeMs: number,
  ) {
    this.opaque = this.mac(Buffer.from('opaque')).toString('hex');
  }

  private mac(body: Buffer): Buffer {
    return createHmac('sha256', this.key).update(body).update('\0').update(this.realm).digest().subarray(0, MAC_BYTES);
  }

  make(now = Date.now()): string {
    const body = Buffer.alloc(12);
    body.writeUIntBE(now, 0, 6);
    randomBytes(6).copy(body, 6);
    return Buffer.concat([body, this.mac(body)]).toString('base64url');
  }

  check(nonce: string, now = Date.now()): NonceCheck {
    if (nonce.length !== Math.ceil((NONCE_BYTES * 4) / 3) || !/^[A-Za-z0-9_-]+$/.test(nonce)) return { kind: 'invalid' };
    const bytes = Buffer.from(nonce, 'base64url');
    if (bytes.length !== NONCE_BYTES) return { kind: 'invalid' };
    const body = bytes.subarray(0, 12);
    if (!timingSafeEqual(bytes.subarray(12), this.mac(body))) return { kind: 'invalid' };
    const issuedAt = body.readUIntBE(0, 6);
    if (issuedAt > now + FUTURE_SKEW_MS) return { kind: 'invalid' };
    return { kind: now - issuedAt > this.lifetimeMs ? 'stale' : 'fresh', issuedAt };
  }

  /** The WWW-Authenticate value, with a new nonce. */
  challenge(stale: boolean): string {
    return (
      `Digest realm=${quote(this.realm)}, qop="auth", algorithm=MD5, nonce="${this.make()}", ` +
      `opaque="${this.opaque}"${stale ? ', stale=true' : ''}`
    );
  }
}

/** RFC 7616 3.4.1 with qop=auth: KD(HA1, nonce:nc:cnonce:qop:H(method:uri)). */
export function expectedResponse(ha1: string, method: string, uri: string, nonce: string, nc: string, cnonce: string): string {
  return md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${md5(`${method}:${uri}`)}`);
}

/** Hex strings compared in constant time. */
export function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'latin1');
  const y = Buffer.from(b, 'latin1');
  return x.length === y.length && timingSafeEqual(x, y);
}
