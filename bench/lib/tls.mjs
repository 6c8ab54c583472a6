// The certificate every TLS scenario's servers share (bare and tsgi-express alike):
// ECDSA P-256 for localhost and 127.0.0.1, made once per bench run with openssl.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let made;

export function benchCertificate() {
  if (made) return made;
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-bench-tls-'));
  const cert = join(dir, 'bench.crt');
  const key = join(dir, 'bench.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  made = { cert, key };
  return made;
}
