/**
 * Reading and checking the PEM files of --https-port: the server certificate,
 * its key, the chain, and the CA that client certificates must verify against.
 * Used before anything starts (resolve.ts: a bad file stops the server, exit 2)
 * and by the master when a file changes (a bad new file is logged, the old one
 * stays). Node's own X509Certificate and KeyObject do the parsing.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** A problem with one file, named by the flag that gave it. */
export class TlsFileError extends Error {
  constructor(
    readonly flag: string,
    readonly file: string,
    reason: string,
  ) {
    super(`--${flag} ${file}: ${reason}`);
    this.name = 'TlsFileError';
  }
}

export interface CertificateFiles {
  readonly cert: string;
  readonly key: string;
  readonly chain?: string | undefined;
  /** The flags the files came from, for messages. */
  readonly certFlag: string;
  readonly keyFlag: string;
}

/** What a TLS server is built from: the PEM texts, as read once. */
export interface CertificatePair {
  /** The server certificate followed by the chain, as a TLS server sends them. */
  readonly cert: string;
  readonly key: string;
  readonly leaf: X509Certificate;
  /** Not fatal: an expired or not yet valid certificate still serves. */
  readonly warnings: readonly string[];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function read(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new TlsFileError(flag, file, `cannot be read (${reason})`);
  }
}

/** Every certificate in a PEM file, parsed; at least one. */
export function readCertificates(flag: string, file: string): { pem: string; certs: X509Certificate[] } {
  const text = read(flag, file);
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new TlsFileError(flag, file, 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  const certs = blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new TlsFileError(flag, file, `certificate #${i + 1} cannot be parsed (${(err as Error).message})`);
    }
  });
  return { pem: blocks.join('\n') + '\n', certs };
}

function readKey(flag: string, file: string): { pem: string; key: KeyObject } {
  const pem = read(flag, file);
  try {
    return { pem, key: createPrivateKey(pem) };
  } catch (err) {
    const message = (err as Error).message;
    const reason = /passphrase/i.test(message)
      ? 'is encrypted; give the key without a passphrase (openssl pkey -in KEY -out PLAIN)'
      : `holds no usable PEM private key (${message})`;
    throw new TlsFileError(flag, file, reason);
  }
}

/** Warnings for a certificate outside its validity period. */
export function validityWarnings(flag: string, file: string, cert: X509Certificate, now = Date.now()): string[] {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (to < now) return [`--${flag} ${file}: the certificate expired on ${cert.validTo}; clients will refuse it`];
  if (from > now) return [`--${flag} ${file}: the certificate is not valid before ${cert.validFrom}; clients will refuse it`];
  return [];
}

/** Reads the certificate, key and chain; throws TlsFileError when they cannot serve. */
export function loadCertificatePair(files: CertificateFiles): CertificatePair {
  const { pem: certPem, certs } = readCertificates(files.certFlag, files.cert);
  const { pem: keyPem, key } = readKey(files.keyFlag, files.key);
  const leaf = certs[0]!;
  if (!leaf.checkPrivateKey(key)) {
    throw new TlsFileError(files.keyFlag, files.key, `is not the private key of the certificate in ${files.cert}`);
  }
  const chainPem = files.chain === undefined ? '' : readCertificates('ssl-certificate-chain-file', files.chain).pem;
  return {
    cert: certPem + chainPem,
    key: keyPem,
    leaf,
    warnings: validityWarnings(files.certFlag, files.cert, leaf),
  };
}
