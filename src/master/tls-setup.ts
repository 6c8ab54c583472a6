/**
 * What the master settles about HTTPS before the first fork: the certificate
 * (the user's, or the development certificate made or found in the server
 * root), and the state every worker's HTTPS listener shares (tls-state.ts).
 * Imported only when --https-port is given.
 */
import type { Config } from '../config/schema.js';
import type { Log } from '../logging/log.js';
import { developmentCertificate, developmentNames, type DevelopmentCertificate } from './tls-dev-certificate.js';
import { TlsState } from './tls-state.js';

export interface TlsSetup {
  readonly config: Config;
  readonly dev: DevelopmentCertificate | undefined;
  readonly tls: TlsState;
}

export async function setupTls(given: Config, log: Log): Promise<TlsSetup> {
  let config = given;
  let dev: DevelopmentCertificate | undefined;
  if (config.sslCertificateFile === undefined) {
    dev = await developmentCertificate(config.serverRoot, developmentNames(config));
    config = Object.freeze({ ...config, sslCertificateFile: dev.certFile, sslCertificateKeyFile: dev.keyFile });
  }
  return { config, dev, tls: new TlsState(config, log) };
}
