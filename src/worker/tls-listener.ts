/**
 * The HTTPS listener: a node:tls server that only does TLS. Each connection,
 * once its handshake is done, goes to the protocol engine its ALPN chose
 * (worker/server.ts): h2 to the HTTP/2 engine, anything else to the same
 * HTTP/1.1 engine that serves the plain port, so every pipeline stage, timeout
 * and parse-error answer is the same on both.
 *
 * The certificate and the session-ticket keys come from the master
 * (master/tls-state.ts), the same for every worker and generation, and can be
 * replaced while serving: new handshakes get the new ones, open connections
 * keep theirs.
 */
import { constants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { Config } from '../config/schema.js';
import type { TlsMaterial, TlsUpdateMessage } from '../ipc/messages.js';
import type { Log } from '../logging/log.js';

/** How long a client may take over its TLS handshake (Node's default is 120 s). */
export const HANDSHAKE_TIMEOUT_MS = 15_000;

/** What the Config says about TLS, read once: the same for the first context and every renewal. */
interface TlsSettings {
  readonly minVersion: tls.SecureVersion;
  readonly ciphers: string | undefined;
  /** The CA client certificates must verify against (--ssl-ca-certificate-file). */
  readonly ca: string | undefined;
}

function settingsOf(config: Config): TlsSettings {
  return {
    minVersion: config.sslMinVersion,
    ciphers: config.sslCiphers,
    ca: config.sslCaCertificateFile ? readFileSync(config.sslCaCertificateFile, 'utf8') : undefined,
  };
}

function contextOptions(cert: string, key: string, settings: TlsSettings): tls.SecureContextOptions {
  const options: tls.SecureContextOptions = {
    cert,
    key,
    minVersion: settings.minVersion,
    // Renegotiation lets a client make the server redo the expensive half of a
    // handshake on demand; nothing here needs it (TLS 1.3 has none at all).
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  };
  if (settings.ciphers !== undefined) options.ciphers = settings.ciphers;
  if (settings.ca !== undefined) options.ca = settings.ca;
  return options;
}

export interface TlsListener {
  readonly server: tls.Server;
  /** A renewed certificate, or new ticket keys, from the master. */
  update(message: TlsUpdateMessage): void;
}

/**
 * `onConnection` gets each connection once its handshake is done; its
 * `alpnProtocol` says which protocol the client and server agreed on.
 */
export function createTlsListener(
  config: Config,
  material: TlsMaterial,
  log: Log,
  protocols: string[],
  onConnection: (socket: tls.TLSSocket) => void,
): TlsListener {
  const settings = settingsOf(config);
  let { cert, key } = material;
  let ticketKeys = Buffer.from(material.ticketKeys, 'base64');
  const server = tls.createServer({
    ...contextOptions(cert, key, settings),
    // In the server's order of preference: with --http2, h2 first, then http/1.1.
    ALPNProtocols: protocols,
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    ticketKeys,
    // Client certificates are asked for during the handshake and checked per request, by
    // the client-certificate stage: TLS 1.3 has no renegotiation to ask later, per URL.
    requestCert: settings.ca !== undefined,
    rejectUnauthorized: false,
  });
  server.on('secureConnection', onConnection);
  // Plain HTTP on this port, garbage, a stalled or failed handshake: that
  // connection is dropped, and no one else notices.
  server.on('tlsClientError', (err: Error, socket: Socket) => {
    log.debug(`TLS connection from ${socket.remoteAddress ?? '?'} dropped: ${err.message}`);
    socket.destroy();
  });
  return {
    server,
    update(message) {
      if (message.ticketKeys !== undefined) ticketKeys = Buffer.from(message.ticketKeys, 'base64');
      if (message.cert !== undefined && message.key !== undefined) {
        try {
          server.setSecureContext(contextOptions(message.cert, message.key, settings));
          ({ cert, key } = message as { cert: string; key: string });
        } catch (err) {
          log.error(`the renewed certificate cannot be used, the current one stays: ${(err as Error).message}`);
        }
      }
      // A new secure context comes with keys of its own: ours, the ones every worker shares, again.
      server.setTicketKeys(ticketKeys);
    },
  };
}
