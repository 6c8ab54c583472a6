/**
 * The HTTPS options, resolved: paths made absolute, --ssl-certificate PREFIX
 * expanded, combinations checked, and the files read once so that a missing
 * file, a key that does not match or a chain that is not PEM stops the server
 * before anything starts (exit 2, naming the flag). An expired certificate only
 * warns: mod_ssl serves it too, and the operator may be about to renew it.
 */
import path from 'node:path';
import { UsageError } from '../errors.js';
import { loadCertificatePair, TlsFileError } from './tls-files.js';

type Values = Record<string, unknown>;

/** Options that mean nothing without --https-port. */
const NEEDS_HTTPS_PORT = [
  ['sslCertificateFile', 'ssl-certificate-file'],
  ['sslCertificateKeyFile', 'ssl-certificate-key-file'],
  ['sslCertificate', 'ssl-certificate'],
  ['sslCertificateChainFile', 'ssl-certificate-chain-file'],
] as const;

function absolute(cwd: string, value: unknown): string | undefined {
  return typeof value === 'string' ? path.resolve(cwd, value) : undefined;
}

export function resolveTls(v: Values, cwd: string, warn: (message: string) => void): Values {
  if (v.httpsPort === undefined) {
    const given = NEEDS_HTTPS_PORT.find(([key]) => v[key] !== undefined);
    if (given) throw new UsageError(`--${given[1]} needs --https-port: without it nothing serves HTTPS`);
    return {};
  }
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
    try {
      loadCertificatePair({ cert, key, chain, certFlag, keyFlag }).warnings.forEach(warn);
    } catch (err) {
      if (err instanceof TlsFileError) throw new UsageError(err.message);
      throw err;
    }
  }
  return { sslCertificateFile: cert, sslCertificateKeyFile: key, sslCertificateChainFile: chain, sslCertificate: undefined };
}
