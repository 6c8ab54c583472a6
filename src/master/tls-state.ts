/**
 * What every worker's HTTPS listener must share, kept by the master:
 *
 * - the certificate pair being served. The master watches the certificate, key
 *   and chain files; when they change (a rename-over save counts) it checks the
 *   new pair and hands it to every running worker, which swaps its secure
 *   context: the same processes, no reload; open connections keep the old one.
 *   A pair that cannot serve (unreadable, key not the certificate's, expired)
 *   is logged and the old one stays.
 * - the session-ticket keys, so a client resumes its TLS session whichever
 *   worker its next connection lands on, and across reloads (every generation
 *   gets the same keys). They are made here, at start, and replaced every 12
 *   hours: a ticket made before then costs its client one full handshake
 *   (node:tls takes one key set at a time).
 *
 * Workers ask for the current state when they start (the `tls` question) and
 * are sent `tls-update` when it changes.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { loadCertificatePair, TlsFileError, type CertificatePair } from '../config/tls-files.js';
import type { TlsMaterial, TlsUpdateMessage } from '../ipc/messages.js';
import type { Log } from '../logging/log.js';
import { ChangeWatcher } from './watcher.js';

/** How long one set of session-ticket keys is used: 12 hours, or TSGI_EXPRESS_TLS_TICKET_KEY_SECONDS. */
function ticketKeyLifetimeMs(): number {
  const seconds = Number(process.env.TSGI_EXPRESS_TLS_TICKET_KEY_SECONDS);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : 12 * 3600) * 1000;
}

export class TlsState {
  private pair: CertificatePair;
  private ticketKeys = randomBytes(48);
  private keysMadeAt = performance.now();
  private readonly keyLifetimeMs = ticketKeyLifetimeMs();
  private readonly watcher: ChangeWatcher;
  /** Sends a message to every running worker (set by the arbiter, which owns the pool). */
  private broadcast: (message: TlsUpdateMessage) => void = () => {};

  /** Reads the pair now: throws TlsFileError if it cannot serve. */
  constructor(
    private readonly config: Config,
    private readonly log: Log,
  ) {
    this.pair = this.load();
    this.watcher = new ChangeWatcher(() => this.renew());
  }

  onUpdate(broadcast: (message: TlsUpdateMessage) => void): void {
    this.broadcast = broadcast;
  }

  /** The files that make the pair: a change to any of them is a renewal. */
  private get files(): string[] {
    const c = this.config;
    return [c.sslCertificateFile!, c.sslCertificateKeyFile!, ...(c.sslCertificateChainFile ? [c.sslCertificateChainFile] : [])];
  }

  private load(): CertificatePair {
    const c = this.config;
    return loadCertificatePair({
      cert: c.sslCertificateFile!,
      key: c.sslCertificateKeyFile!,
      chain: c.sslCertificateChainFile,
      certFlag: 'ssl-certificate-file',
      keyFlag: 'ssl-certificate-key-file',
    });
  }

  /** What a starting worker is given. */
  material(): TlsMaterial {
    return { cert: this.pair.cert, key: this.pair.key, ticketKeys: this.ticketKeys.toString('base64') };
  }

  /** Starts watching the files (resolves once the watches are in place). */
  watch(): Promise<void> {
    return this.watcher.add(this.files);
  }

  close(): Promise<void> {
    return this.watcher.close();
  }

  /** The periodic check: new ticket keys when the current ones are old enough. */
  tick(): void {
    if (performance.now() - this.keysMadeAt < this.keyLifetimeMs) return;
    this.rotateTicketKeys();
  }

  rotateTicketKeys(): void {
    this.ticketKeys = randomBytes(48);
    this.keysMadeAt = performance.now();
    this.log.debug('TLS session-ticket keys replaced');
    this.broadcast({ t: 'tls-update', ticketKeys: this.ticketKeys.toString('base64') });
  }

  /** The files changed: serve the new pair if it can serve, else keep the old one. */
  private renew(): void {
    let next: CertificatePair;
    try {
      next = this.load();
    } catch (err) {
      const why = err instanceof TlsFileError ? err.message : String(err);
      return this.log.error(`certificate renewal refused, the current certificate stays: ${why}`);
    }
    if (next.warnings.length > 0) {
      return this.log.error(`certificate renewal refused, the current certificate stays: ${next.warnings.join('; ')}`);
    }
    if (next.cert === this.pair.cert && next.key === this.pair.key) return;
    this.pair = next;
    this.log.info(`certificate renewed: serial ${next.leaf.serialNumber}, valid until ${next.leaf.validTo}; new TLS handshakes get it`);
    this.broadcast({ t: 'tls-update', cert: next.cert, key: next.key });
  }
}
