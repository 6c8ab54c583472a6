/**
 * --ssl-environment: mod_ssl's SSL_* variables (`SSLOptions +StdEnvVars
 * +ExportCertData`), in mod_ssl's formats, for a request that came in over
 * TLS. They describe the connection, not the request, so they are computed
 * once per TLS connection and shared by its requests (HTTP/1.1 keep-alive,
 * HTTP/2 streams).
 */
import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { UNDERLYING_SOCKET } from '../net/proxy-protocol.js';

/** OpenSSL's X509_verify_cert_error_string() for the codes node:tls reports in authorizationError. */
const VERIFY_ERRORS: Record<string, string> = {
  UNABLE_TO_GET_ISSUER_CERT: 'unable to get issuer certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get local issuer certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  CERT_HAS_EXPIRED: 'certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in certificate chain',
  CERT_CHAIN_TOO_LONG: 'certificate chain too long',
  CERT_REVOKED: 'certificate revoked',
  INVALID_CA: 'invalid CA certificate',
  INVALID_PURPOSE: 'unsupported certificate purpose',
  CERT_UNTRUSTED: 'certificate not trusted',
  CERT_REJECTED: 'certificate rejected',
};

/** One RDN value escaped as RFC 2253 asks. */
function escapeRdnValue(value: string): string {
  let out = value.replace(/[,+"\\<>;]/g, (c) => `\\${c}`);
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && out.length > 1) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/**
 * A distinguished name as mod_ssl gives it: RFC 2253, most specific RDN first
 * (`CN=alice,O=Example,C=US`). X509Certificate lists the RDNs one per line,
 * in the certificate's order (least specific first).
 */
export function rfc2253(name: string): string {
  return name
    .split('\n')
    .filter(Boolean)
    .reverse()
    .map((rdn) => {
      const eq = rdn.indexOf('=');
      return eq < 0 ? rdn : `${rdn.slice(0, eq)}=${escapeRdnValue(rdn.slice(eq + 1))}`;
    })
    .join(',');
}

/** Key bits of the cipher's symmetric encryption (SSL_CIPHER_USEKEYSIZE), from its name. */
export function cipherKeyBits(name: string): number | undefined {
  if (/AES_?256|CHACHA20|CAMELLIA256|ARIA256/.test(name)) return 256;
  if (/AES_?128|CAMELLIA128|ARIA128|SM4/.test(name)) return 128;
  if (/3DES|DES-CBC3/.test(name)) return 168;
  return undefined;
}

/**
 * The client certificate's variables. Its dates are in ASN1_TIME_print's form
 * (`Dec  7 02:38:44 2026 GMT`), as mod_ssl gives them and X509Certificate has them.
 */
function clientVariables(vars: Record<string, string>, socket: TlsView, peer: X509Certificate): void {
  vars.SSL_CLIENT_S_DN = rfc2253(peer.subject);
  vars.SSL_CLIENT_I_DN = rfc2253(peer.issuer);
  vars.SSL_CLIENT_M_SERIAL = peer.serialNumber.toUpperCase();
  vars.SSL_CLIENT_V_START = peer.validFrom;
  vars.SSL_CLIENT_V_END = peer.validTo;
  vars.SSL_CLIENT_CERT = peer.toString();
  if (socket.authorized) vars.SSL_CLIENT_VERIFY = 'SUCCESS';
  else {
    const code = String(socket.authorizationError ?? 'UNKNOWN');
    vars.SSL_CLIENT_VERIFY = `FAILED:${VERIFY_ERRORS[code] ?? code.toLowerCase().replaceAll('_', ' ')}`;
  }
}

/**
 * What the variables are read from: a TLSSocket, or the front's TLS connection
 * as a process group's worker knows it (groups/hop-connection.ts).
 */
interface TlsView {
  readonly encrypted?: boolean;
  readonly authorized: boolean;
  readonly authorizationError?: unknown;
  getProtocol(): string | null;
  getCipher(): { name: string; standardName?: string };
  getX509Certificate(): { readonly subject: string; readonly issuer: string } | undefined;
  getPeerX509Certificate(): X509Certificate | undefined;
}

function compute(socket: TlsView): Readonly<Record<string, string>> {
  const vars: Record<string, string> = {};
  const protocol = socket.getProtocol();
  if (protocol) vars.SSL_PROTOCOL = protocol;
  const cipher = socket.getCipher();
  if (cipher) {
    vars.SSL_CIPHER = cipher.name;
    const bits = cipherKeyBits(cipher.standardName ?? cipher.name) ?? cipherKeyBits(cipher.name);
    if (bits !== undefined) vars.SSL_CIPHER_USEKEYSIZE = String(bits);
  }
  const own = socket.getX509Certificate();
  if (own) {
    vars.SSL_SERVER_S_DN = rfc2253(own.subject);
    vars.SSL_SERVER_I_DN = rfc2253(own.issuer);
  }
  const peer = socket.getPeerX509Certificate();
  if (peer) clientVariables(vars, socket, peer);
  else vars.SSL_CLIENT_VERIFY = 'NONE';
  return Object.freeze(vars);
}

const cache = new WeakMap<TlsView, Readonly<Record<string, string>>>();

/**
 * The SSL_* variables for a request's socket: the TLS socket itself, or an
 * HTTP/2 stream's stand-in (worker/http2-bridge.ts), which names its connection;
 * undefined for a plain one.
 */
export function sslVariables(socket: unknown): Readonly<Record<string, string>> | undefined {
  // A trusted proxy's view of the socket (adapters/client-socket.ts) may say `encrypted`; the connection knows.
  const real = (socket as { [UNDERLYING_SOCKET]?: unknown })[UNDERLYING_SOCKET] ?? socket;
  const tls = (real as { tlsSocket?: TlsView }).tlsSocket ?? (real as TLSSocket);
  if (tls.encrypted !== true || typeof tls.getProtocol !== 'function') return undefined;
  let vars = cache.get(tls);
  if (vars === undefined) {
    vars = compute(tls);
    cache.set(tls, vars);
  }
  return vars;
}
