/**
 * The development certificate: --https-port without a certificate of the
 * user's gets a self-signed one, kept in the server root (the key with mode
 * 0600) and used again on the next start while it is valid and names the same
 * hosts. The banner tells how to trust it. The certificate itself is made in a
 * short-lived child (tls-generate-certificate.ts) so its libraries never load
 * into the master.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCertificatePair } from '../config/tls-files.js';

const GENERATOR = fileURLToPath(new URL('./tls-generate-certificate.js', import.meta.url));
/** A certificate that runs out sooner than this is made again. */
const RENEW_BEFORE_MS = 7 * 86_400_000;

export interface DevelopmentCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  /** SHA-256 fingerprint, colon-separated hex, as browsers and `openssl x509 -fingerprint -sha256` show it. */
  readonly fingerprint: string;
  readonly names: readonly string[];
  readonly validTo: string;
  /** Made by this start (false: an earlier one's, still good). */
  readonly generated: boolean;
}

interface NamedConfig {
  readonly host?: string | undefined;
  readonly serverHost: string;
  readonly serverName?: string | undefined;
  readonly serverAlias?: readonly string[] | undefined;
}

/**
 * Who a development certificate is for: loopback, this machine, --host, and the
 * names the server answers to (--server-name, and each --server-alias a
 * certificate can name: `*.example.com` is a wildcard name, `?` patterns are not).
 */
export function developmentNames(config: NamedConfig): string[] {
  const aliases = (config.serverAlias ?? []).filter((alias) => !alias.includes('?') && !alias.slice(1).includes('*'));
  const names = ['localhost', '127.0.0.1', '::1', hostname(), config.serverHost, ...(config.serverName ? [config.serverName] : []), ...aliases];
  if (config.host !== undefined) names.push(config.host);
  const seen = new Set<string>();
  return names.filter((name) => {
    const key = name.toLowerCase();
    // A wildcard address is where to listen, not a name to reach the server by.
    if (name === '' || key === '0.0.0.0' || key === '::' || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Whether `cert` names `name` itself: an IP address, or a DNS name (a wildcard name only as itself). */
function covers(cert: X509Certificate, name: string): boolean {
  if (isIP(name)) return cert.checkIP(name) !== undefined;
  const dns = (cert.subjectAltName ?? '').split(', ').filter((e) => e.startsWith('DNS:')).map((e) => e.slice(4).toLowerCase());
  return dns.includes(name.toLowerCase());
}

/** The certificate already in `dir`, when it can serve `names` for a while yet. */
function reusable(certFile: string, keyFile: string, names: readonly string[]): X509Certificate | undefined {
  if (!existsSync(certFile) || !existsSync(keyFile)) return undefined;
  let leaf: X509Certificate;
  try {
    leaf = loadCertificatePair({ cert: certFile, key: keyFile, certFlag: 'https-port', keyFlag: 'https-port' }).leaf;
  } catch {
    return undefined; // damaged or half-written: make a new one
  }
  const now = Date.now();
  if (Date.parse(leaf.validFrom) > now || Date.parse(leaf.validTo) - now < RENEW_BEFORE_MS) return undefined;
  return names.every((name) => covers(leaf, name)) ? leaf : undefined;
}

function generate(certFile: string, keyFile: string, names: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = [GENERATOR, certFile, keyFile, JSON.stringify(names)];
    execFile(process.execPath, args, { timeout: 60_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`cannot make a development certificate in ${path.dirname(certFile)}: ${stderr.trim() || err.message}`));
      else resolve();
    });
  });
}

/** The development certificate in `dir` for `names`, made now if there is none that fits. */
export async function developmentCertificate(dir: string, names: readonly string[]): Promise<DevelopmentCertificate> {
  const certFile = path.join(dir, 'development-certificate.crt');
  const keyFile = path.join(dir, 'development-certificate.key');
  let leaf = reusable(certFile, keyFile, names);
  const generated = leaf === undefined;
  if (leaf === undefined) {
    await generate(certFile, keyFile, names);
    leaf = reusable(certFile, keyFile, names);
    if (leaf === undefined) throw new Error(`the development certificate made in ${dir} does not verify`);
  }
  return { certFile, keyFile, fingerprint: leaf.fingerprint256, names, validTo: leaf.validTo, generated };
}
