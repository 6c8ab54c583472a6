/** Facts about the access-control options that the master and the workers both need. */
import type { Config } from '../config/schema.js';

/** The scripts loaded with the app, in this order: user, group, host access (each may be absent). */
export function accessScripts(config: Config): string[] {
  return [config.authUserScript, config.authGroupScript, config.hostAccessScript].filter((f): f is string => f !== undefined);
}

/** Whether any access-control option is given: without one a worker loads none of the auth code. */
export function accessControlled(config: Config): boolean {
  return accessScripts(config).length > 0 || config.authUserFile !== undefined || config.authDigestFile !== undefined;
}

/** The realm of the challenge: --auth-realm, else HOST:PORT as mod_wsgi-express names it. */
export function authRealm(config: Config): string {
  // mod_wsgi-express: --host or localhost, never --server-name.
  return config.authRealm ?? `${config.host ?? 'localhost'}:${config.port}`;
}
