/**
 * Certificates made for a test with the openssl command line: a CA, server
 * certificates it signs (RSA and ECDSA, for localhost and 127.0.0.1), an
 * intermediate CA and the chain it needs, client certificates, and broken
 * material (an expired certificate, a key that belongs to another certificate,
 * a file that is not PEM). Everything lives in one temporary directory,
 * removed by `remove()`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import selfsigned from 'selfsigned';

export interface TestPki {
  readonly dir: string;
  /** The root CA that signs everything below; trust this one. */
  readonly caCert: string;
  /** Server certificate signed by the root CA, RSA 2048, for localhost and 127.0.0.1. */
  readonly serverCert: string;
  readonly serverKey: string;
  /** Same names, ECDSA P-256, signed by the root CA. */
  readonly ecCert: string;
  readonly ecKey: string;
  /** Server certificate signed by an intermediate CA; `chain` holds the intermediate. */
  readonly leafCert: string;
  readonly leafKey: string;
  readonly chain: string;
  /** Client certificate (CN=alice) signed by the root CA, and one (CN=mallory) signed by another CA. */
  readonly clientCert: string;
  readonly clientKey: string;
  readonly strangerCert: string;
  readonly strangerKey: string;
  /** A server certificate that expired. */
  readonly expiredCert: string;
  readonly expiredKey: string;
  /** A file that holds no PEM at all. */
  readonly notPem: string;
  /** A new server certificate for the same names, signed by the root CA (renewal tests). */
  renew(): { cert: string; key: string; serial: string };
  remove(): void;
}

function openssl(dir: string, args: string[]): string {
  return execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

const SERVER_EXT = 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n';
const CLIENT_EXT = 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n';
const CA_EXT = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n';

let renewals = 0;

export async function makeTestPki(): Promise<TestPki> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-pki-'));
  const file = (name: string) => path.join(dir, name);
  writeFileSync(file('server.ext'), SERVER_EXT);
  writeFileSync(file('client.ext'), CLIENT_EXT);
  writeFileSync(file('ca.ext'), CA_EXT);
  const selfSignedCa = (name: string, cn: string) =>
    openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`,
      '-days', '3', '-subj', `/CN=${cn}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const sign = (name: string, cn: string, ca: string, ext: string, keyArgs: string[], days = '2') => {
    openssl(dir, ['req', '-new', ...keyArgs, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}/O=tsgi-express tests`]);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial',
      '-out', `${name}.crt`, '-days', days, '-extfile', ext, '-sha256']);
  };
  const rsa = ['-newkey', 'rsa:2048'];
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  selfSignedCa('ca', 'tsgi-express test CA');
  selfSignedCa('other-ca', 'some other CA');
  sign('server', 'localhost', 'ca', 'server.ext', rsa);
  sign('ec', 'localhost', 'ca', 'server.ext', ec);
  sign('intermediate', 'tsgi-express test intermediate', 'ca', 'ca.ext', rsa);
  sign('leaf', 'localhost', 'intermediate', 'server.ext', ec);
  sign('client', 'alice', 'ca', 'client.ext', ec);
  sign('stranger', 'mallory', 'other-ca', 'client.ext', ec);
  await writeExpired(file('expired.crt'), file('expired.key'));
  writeFileSync(file('not-pem.txt'), 'this is not a certificate\n');
  return {
    dir,
    caCert: file('ca.crt'),
    serverCert: file('server.crt'),
    serverKey: file('server.key'),
    ecCert: file('ec.crt'),
    ecKey: file('ec.key'),
    leafCert: file('leaf.crt'),
    leafKey: file('leaf.key'),
    chain: file('intermediate.crt'),
    clientCert: file('client.crt'),
    clientKey: file('client.key'),
    strangerCert: file('stranger.crt'),
    strangerKey: file('stranger.key'),
    expiredCert: file('expired.crt'),
    expiredKey: file('expired.key'),
    notPem: file('not-pem.txt'),
    renew() {
      const name = `renewed-${++renewals}`;
      sign(name, 'localhost', 'ca', 'server.ext', ec);
      const serial = openssl(dir, ['x509', '-in', `${name}.crt`, '-noout', '-serial']).trim().replace(/^serial=/, '');
      return { cert: file(`${name}.crt`), key: file(`${name}.key`), serial };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A certificate that expired last week (openssl 3.0 cannot date one in the past; selfsigned can). */
async function writeExpired(certFile: string, keyFile: string): Promise<void> {
  const week = 7 * 86_400_000;
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 2 * week),
    notAfterDate: new Date(Date.now() - week),
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  });
  writeFileSync(certFile, pems.cert);
  writeFileSync(keyFile, pems.private);
}

/**
 * One test PKI for a whole test file: made before its first test, removed after its
 * last. `pki` and `ca` (the root CA's PEM, for clients to trust) are live bindings,
 * set once the file's `before` hook has run.
 */
export let pki: TestPki;
export let ca: Buffer;
export function useTestPki(): void {
  before(async () => {
    pki = await makeTestPki();
    ca = readFileSync(pki.caCert);
  });
  after(() => pki?.remove());
}

/** The server certificate of `useTestPki()` on an HTTPS port the system picks. */
export const certArgs = (): string[] => ['--https-port', '0', '--ssl-certificate-file', pki.serverCert, '--ssl-certificate-key-file', pki.serverKey];
/** The same with HTTP/2 on both ports. */
export const tlsArgs = (): string[] => [...certArgs(), '--http2'];
