/**
 * The client's connection as the front worker has it, carried across the hop
 * (hop-facts.ts) so that an app in a process group sees the connection an app
 * served directly sees: its addresses and ports (REMOTE_PORT, req.socket's
 * remotePort, localAddress, localPort), and on TLS the protocol, cipher, ALPN,
 * SNI name, whether the client certificate verified and the certificate itself
 * (the --ssl-environment variables, req.socket.getPeerCertificate()).
 *
 * The front computes a TLS connection's facts once and sends them with each of
 * its requests; a group's worker rebuilds them once per connection (by the id
 * the front gave it) and gives each request a view of its unix socket that
 * reports them, as adapters/client-socket.ts's view reports a trusted proxy's
 * client. Only the server's own certificate and the TLS session stay with the
 * front: getCertificate() is null and getSession() undefined behind the hop.
 */
import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { socketWith } from '../adapters/client-socket.js';
import { UNDERLYING_SOCKET } from '../net/proxy-protocol.js';

/** The TLS side of a front connection. */
export interface HopTlsFacts {
  /** Unique per front connection: the group rebuilds these facts once per id. */
  readonly id: string;
  readonly protocol: string | null;
  readonly cipher: { readonly name: string; readonly standardName: string; readonly version: string };
  readonly alpnProtocol: string | false;
  readonly servername: string | false;
  readonly authorized: boolean;
  readonly authorizationError?: string;
  readonly sessionReused: boolean;
  /** The client certificate, DER in base64, when the client gave one. */
  readonly peer?: string;
  /** The server certificate's subject and issuer (SSL_SERVER_S_DN, SSL_SERVER_I_DN). */
  readonly server?: { readonly subject: string; readonly issuer: string };
}

export interface HopConnection {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly remoteFamily?: string;
  readonly localAddress?: string;
  readonly localPort?: number;
  readonly localFamily?: string;
  readonly tls?: HopTlsFacts;
}

type FrontSocket = Socket & { encrypted?: boolean; tlsSocket?: TLSSocket; localFamily?: string };

const tlsFacts = new WeakMap<TLSSocket, HopTlsFacts>();
let connections = 0;

function describeTls(tls: TLSSocket): HopTlsFacts {
  const cipher = tls.getCipher();
  const peer = tls.getPeerX509Certificate();
  const own = tls.getX509Certificate();
  const error = tls.authorizationError as unknown as Error | string | null | undefined;
  return {
    id: `${process.pid}.${++connections}`,
    protocol: tls.getProtocol(),
    cipher: { name: cipher.name, standardName: cipher.standardName, version: cipher.version },
    alpnProtocol: tls.alpnProtocol ?? false,
    servername: (tls as TLSSocket & { servername?: string | false }).servername ?? false,
    authorized: tls.authorized,
    ...(error ? { authorizationError: String(error) } : {}),
    sessionReused: tls.isSessionReused(),
    ...(peer ? { peer: peer.raw.toString('base64') } : {}),
    ...(own ? { server: { subject: own.subject, issuer: own.issuer } } : {}),
  };
}

/** The front's side: what a request's connection is (an HTTP/2 stream's stands for its connection). */
export function connectionFacts(socket: FrontSocket): HopConnection {
  const tlsSocket = socket.tlsSocket ?? (socket.encrypted === true ? (socket as unknown as TLSSocket) : undefined);
  let tls: HopTlsFacts | undefined;
  if (tlsSocket !== undefined && typeof tlsSocket.getProtocol === 'function') {
    tls = tlsFacts.get(tlsSocket);
    if (tls === undefined) tlsFacts.set(tlsSocket, (tls = describeTls(tlsSocket)));
  }
  return {
    remoteAddress: socket.remoteAddress,
    remotePort: socket.remotePort,
    remoteFamily: socket.remoteFamily,
    localAddress: socket.localAddress,
    localPort: socket.localPort,
    localFamily: socket.localFamily,
    ...(tls !== undefined ? { tls } : {}),
  };
}

/**
 * A group's side: the TLS connection as a TLSSocket would answer for it. Also
 * what tsgi/ssl-environ.ts reads the SSL_* variables from (as `tlsSocket`), so
 * they are computed once per front connection here too.
 */
class HopTls {
  readonly encrypted = true;
  #peer: X509Certificate | undefined;

  constructor(readonly facts: HopTlsFacts) {}

  get authorized(): boolean { return this.facts.authorized; }
  get authorizationError(): string | undefined { return this.facts.authorizationError; }
  getProtocol(): string | null { return this.facts.protocol; }
  getCipher(): HopTlsFacts['cipher'] { return { ...this.facts.cipher }; }
  getPeerX509Certificate(): X509Certificate | undefined {
    if (this.facts.peer === undefined) return undefined;
    return (this.#peer ??= new X509Certificate(Buffer.from(this.facts.peer, 'base64')));
  }
  /** As TLSSocket's: {} when the client gave no certificate. The issuer chain (`detailed`) stays with the front. */
  getPeerCertificate(): object {
    return this.getPeerX509Certificate()?.toLegacyObject() ?? {};
  }
  /** The server's own certificate: only its names crossed the hop (for SSL_SERVER_S_DN and SSL_SERVER_I_DN). */
  getX509Certificate(): { subject: string; issuer: string } | undefined { return this.facts.server; }
}

/** The groups' cache of front connections: a connection's requests share one HopTls. */
const seen = new Map<string, HopTls>();
const SEEN_MAX = 512;

function hopTls(facts: HopTlsFacts): HopTls {
  let tls = seen.get(facts.id);
  if (tls === undefined) {
    if (seen.size >= SEEN_MAX) seen.delete(seen.keys().next().value!);
    seen.set(facts.id, (tls = new HopTls(facts)));
  }
  return tls;
}

/** A group's side: the unix socket the request came on, reporting the front's connection instead. */
export function hopSocket(socket: Socket, connection: HopConnection): Socket {
  const overrides = new Map<PropertyKey, unknown>([
    ['remoteAddress', connection.remoteAddress],
    ['remotePort', connection.remotePort],
    ['remoteFamily', connection.remoteFamily],
    ['localAddress', connection.localAddress],
    ['localPort', connection.localPort],
    ['localFamily', connection.localFamily],
    ['address', () => ({ address: connection.localAddress, family: connection.localFamily, port: connection.localPort })],
    // This view is the connection, as far as the request can tell: not the unix socket under it.
    [UNDERLYING_SOCKET, undefined],
  ]);
  const facts = connection.tls;
  if (facts !== undefined) {
    const tls = hopTls(facts);
    overrides.set('encrypted', true);
    overrides.set('tlsSocket', tls);
    overrides.set('authorized', facts.authorized);
    overrides.set('authorizationError', facts.authorizationError);
    overrides.set('alpnProtocol', facts.alpnProtocol);
    overrides.set('servername', facts.servername);
    overrides.set('getProtocol', () => tls.getProtocol());
    overrides.set('getCipher', () => tls.getCipher());
    overrides.set('getPeerCertificate', () => tls.getPeerCertificate());
    overrides.set('getPeerX509Certificate', () => tls.getPeerX509Certificate());
    overrides.set('isSessionReused', () => facts.sessionReused);
    overrides.set('getCertificate', () => null);
    overrides.set('getX509Certificate', () => undefined);
    overrides.set('getSession', () => undefined);
  }
  return socketWith(socket, overrides);
}
