/**
 * The HTTPS options, resolved: paths made absolute, --ssl-certificate PREFIX
 * expanded, combinations checked, and the files read once so that a missing
 * file, a key that does not match or a chain that is not PEM stops the server
 * before anything starts (exit 2, naming the flag). An expired certificate only
 * warns: mod_ssl serves it too, and the operator may be about to renew it.
 */
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import { UsageError } from '../errors.js';
import { loadCertificatePair, readCertificates, TlsFileError } from './tls-files.js';

type Values = Record<string, unknown>;

/** Options that mean nothing without --https-port (as given: some have defaults). */
const NEEDS_HTTPS_PORT = [
  ['sslCertificateFile', 'ssl-certificate-file'],
  ['sslCertificateKeyFile', 'ssl-certificate-key-file'],
  ['sslCertificate', 'ssl-certificate'],
  ['sslCertificateChainFile', 'ssl-certificate-chain-file'],
  ['sslCaCertificateFile', 'ssl-ca-certificate-file'],
  ['sslVerifyClient', 'ssl-verify-client'],
  ['sslEnvironment', 'ssl-environment'],
  ['httpsOnly', 'https-only'],
  ['hstsPolicy', 'hsts-policy'],
  ['sslMinVersion', 'ssl-min-version'],
  ['sslCiphers', 'ssl-ciphers'],
] as const;

function fileError<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof TlsFileError) throw new UsageError(err.message);
    throw err;
  }
}

/** `--ssl-verify-client` prefixes, made comparable: one leading slash, no trailing one (but `/`). */
function verifyPrefixes(given: readonly string[]): string[] {
  return given.map((prefix) => {
    if (!prefix.startsWith('/')) throw new UsageError(`--ssl-verify-client must be a URL path starting with / (got ${JSON.stringify(prefix)})`);
    const trimmed = prefix.replace(/\/+$/, '');
    return trimmed === '' ? '/' : trimmed;
  });
}

/** Client certificates: the CA, read now; the prefixes they are required under. */
function resolveClientCertificates(v: Values, given: Values, cwd: string): Values {
  const ca = absolute(cwd, v.sslCaCertificateFile);
  const prefixes = (v.sslVerifyClient as string[] | undefined) ?? [];
  if (ca === undefined) {
    if (prefixes.length > 0) throw new UsageError('--ssl-verify-client needs --ssl-ca-certificate-file (the CA client certificates must verify against)');
    return { sslCaCertificateFile: undefined, sslVerifyClient: [] };
  }
  fileError(() => readCertificates('ssl-ca-certificate-file', ca));
  // mod_wsgi-express: a CA without any --ssl-verify-client requires a certificate for the whole site.
  const required = given.sslVerifyClient === undefined || prefixes.length === 0 ? ['/'] : verifyPrefixes(prefixes);
  return { sslCaCertificateFile: ca, sslVerifyClient: required };
}

function checkCiphers(ciphers: unknown): void {
  if (typeof ciphers !== 'string') return;
  try {
    createSecureContext({ ciphers });
  } catch (err) {
    throw new UsageError(`--ssl-ciphers names no cipher OpenSSL can use (${(err as Error).message}; see \`openssl ciphers -v\`)`);
  }
}

function absolute(cwd: string, value: unknown): string | undefined {
  return typeof value === 'string' ? path.resolve(cwd, value) : undefined;
}

/** `v`: the validated values (defaults filled in); `given`: what the command line said. */
export function resolveTls(v: Values, given: Values, cwd: string, warn: (message: string) => void): Values {
  if (v.httpsPort === undefined) {
    const option = NEEDS_HTTPS_PORT.find(([key]) => given[key] !== undefined);
    if (option) throw new UsageError(`--${option[1]} needs --https-port: without it nothing serves HTTPS`);
    return {};
  }
  checkCiphers(v.sslCiphers);
  if (v.httpsPort === v.port && v.port !== 0) {
    throw new UsageError(`--https-port must differ from --port (both are ${v.port as number})`);
  }
  const prefix = absolute(cwd, v.sslCertificate);
  const cert = prefix ? `${prefix}.crt` : absolute(cwd, v.sslCertificateFile);
  const key = prefix ? `${prefix}.key` : absolute(cwd, v.sslCertificateKeyFile);
  const chain = absolute(cwd, v.sslCertificateChainFile);
  if (cert !== undefined && key === undefined) {
    throw new UsageError('--ssl-certificate-file needs --ssl-certificate-key-file (the private key of the certificate)');
  }
  if (key !== undefined && cert === undefined) {
    throw new UsageError('--ssl-certificate-key-file needs --ssl-certificate-file (the certificate of the key)');
  }
  if (chain !== undefined && cert === undefined) {
    throw new UsageError('--ssl-certificate-chain-file needs --ssl-certificate-file: the generated development certificate has no chain');
  }
  if (cert !== undefined && key !== undefined) {
    const certFlag = prefix ? 'ssl-certificate' : 'ssl-certificate-file';
    const keyFlag = prefix ? 'ssl-certificate' : 'ssl-certificate-key-file';
    fileError(() => loadCertificatePair({ cert, key, chain, certFlag, keyFlag })).warnings.forEach(warn);
  }
  return {
    sslCertificateFile: cert,
    sslCertificateKeyFile: key,
    sslCertificateChainFile: chain,
    sslCertificate: undefined,
    ...resolveClientCertificates(v, given, cwd),
  };
}
