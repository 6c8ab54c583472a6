/**
 * `node tls-generate-certificate.js CERT KEY NAMES_JSON`: writes a self-signed
 * development certificate for NAMES (DNS names and IP addresses) and its key,
 * the key with mode 0600. A process of its own, started by the master
 * (tls-dev-certificate.ts) only when a certificate must be made: `selfsigned`
 * and the ASN.1 libraries under it add ~17 MB to whichever process loads them,
 * and the master lives as long as the server.
 */
import { isIP } from 'node:net';
import { chmodSync, renameSync, writeFileSync } from 'node:fs';
import selfsigned from 'selfsigned';

/** How long a development certificate is valid; it is made again when it runs out. */
const VALID_DAYS = 365;

function altName(name: string) {
  return isIP(name) ? { type: 7 as const, ip: name } : { type: 2 as const, value: name };
}

async function generate(certFile: string, keyFile: string, names: string[]): Promise<void> {
  const notBeforeDate = new Date(Date.now() - 60_000); // a little clock skew between machines
  const notAfterDate = new Date(notBeforeDate.getTime() + VALID_DAYS * 86_400_000);
  const pems = await selfsigned.generate([{ name: 'commonName', value: names[0]! }, { name: 'organizationName', value: 'tsgi-express development certificate' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: names.map(altName) },
    ],
  });
  // Written aside and renamed: a server starting meanwhile never reads half a file.
  writeFileSync(`${keyFile}.new`, pems.private, { mode: 0o600 });
  chmodSync(`${keyFile}.new`, 0o600); // whatever the umask
  writeFileSync(`${certFile}.new`, pems.cert);
  renameSync(`${keyFile}.new`, keyFile);
  renameSync(`${certFile}.new`, certFile);
}

const [certFile, keyFile, namesJson] = process.argv.slice(2);
await generate(certFile!, keyFile!, JSON.parse(namesJson!) as string[]);
