/**
 * Builds the worker's access-control stages (pipeline/host-access.ts,
 * pipeline/authenticate.ts) from the Config, the scripts load-app.ts loaded and
 * what the master hands over (the Digest key, the password files). A script
 * without the export its option needs is a UsageError: the master exits 2
 * naming the file and the export.
 */
import type { Config } from '../config/schema.js';
import { UsageError } from '../errors.js';
import { authRealm } from '../auth/access-config.js';
import { NonceCodec } from '../auth/digest.js';
import type { ScriptServer } from '../auth/script-environ.js';
import { HtdigestUsers, HtpasswdUsers, ScriptUsers, type UserSource } from '../auth/user-sources.js';
import { describeExports } from '../adapters/shapes.js';
import type { Log } from '../logging/log.js';
import { authenticateStage } from '../pipeline/authenticate.js';
import type { Stage } from '../pipeline/context.js';
import { hostAccessStage } from '../pipeline/host-access.js';
import type { AuthState } from '../ipc/messages.js';
import { masterLink, type MasterLink } from './auth-channel.js';

type ScriptFn = (...args: unknown[]) => unknown;
type Namespace = Record<string, unknown>;

export interface AccessStages {
  readonly hostAccess?: Stage;
  readonly authenticate?: Stage;
}

/** An export of an ES module, or a property of a CommonJS module's exports (tsx may wrap those twice). */
function exported(ns: Namespace, name: string): unknown {
  if (typeof ns[name] === 'function') return ns[name];
  const main = ns.default as Namespace | undefined;
  if (main && typeof main === 'object' && typeof main[name] === 'function') return main[name];
  const inner = main?.default as Namespace | undefined;
  return inner && typeof inner === 'object' ? inner[name] : undefined;
}

function need(ns: Namespace, name: string, flag: string, file: string, why: string): ScriptFn {
  const fn = exported(ns, name);
  if (typeof fn === 'function') return fn as ScriptFn;
  throw new UsageError(`--${flag} ${file} exports no ${name} function (${why}); it exports: ${describeExports(ns)}`);
}

function userSource(config: Config, ns: Namespace | undefined, link: MasterLink, state: AuthState | undefined, log: Log): UserSource {
  if (ns) {
    const file = config.authUserScript!;
    if (config.authType === 'Digest') {
      return new ScriptUsers({ getRealmHash: need(ns, 'getRealmHash', 'auth-user-script', file, 'needed for --auth-type Digest') });
    }
    return new ScriptUsers({ checkPassword: need(ns, 'checkPassword', 'auth-user-script', file, 'needed for --auth-type Basic') });
  }
  if (config.authUserFile) {
    const users = new HtpasswdUsers(state?.userFile ?? '', log);
    link.filesChanged((m) => m.userFile !== undefined && users.replace(m.userFile));
    return users;
  }
  const users = new HtdigestUsers(state?.digestFile ?? '');
  // resolve.ts checks this when the port is known; with --port 0 only the worker knows the realm.
  const realms = users.realms;
  const realm = authRealm(config);
  if (realms.size > 0 && !realms.has(realm)) {
    const list = [...realms].map((r) => JSON.stringify(r)).join(', ');
    throw new UsageError(`--auth-digest-file ${config.authDigestFile} has no entry for the realm "${realm}" (it has ${list}): give --auth-realm`);
  }
  link.filesChanged((m) => m.digestFile !== undefined && users.replace(m.digestFile));
  return users;
}

/** `scripts`: the namespaces of accessScripts(config) (auth/access-config.ts), in the same order. */
export async function buildAccessControl(
  config: Config,
  scripts: readonly Namespace[],
  server: ScriptServer,
  log: Log,
): Promise<AccessStages> {
  const queue = [...scripts];
  const userNs = config.authUserScript ? queue.shift() : undefined;
  const groupNs = config.authGroupScript ? queue.shift() : undefined;
  const hostNs = config.hostAccessScript ? queue.shift() : undefined;
  const group = groupNs && {
    name: config.authGroup,
    groupsForUser: need(groupNs, 'groupsForUser', 'auth-group-script', config.authGroupScript!, 'the group check calls it'),
  };
  const allowAccess = hostNs && need(hostNs, 'allowAccess', 'host-access-script', config.hostAccessScript!, 'it decides which clients may connect');
  const hostAccess = allowAccess ? hostAccessStage(allowAccess, server, log) : undefined;
  if (!config.authUserScript && !config.authUserFile && !config.authDigestFile) return { hostAccess };

  const link = masterLink;
  const type = config.authType;
  const digest = type === 'Digest';
  // A Basic script needs nothing from the master; files and Digest keys come from it.
  const state = digest || !userNs ? await link.state() : undefined;
  const users = userSource(config, userNs, link, state, log);
  const realm = authRealm(config);
  const key = digest ? Buffer.from(state!.key, 'base64') : undefined;
  const authenticate = authenticateStage({
    type,
    realm,
    locations: config.authLocation,
    users,
    group,
    nonces: key && new NonceCodec(key, realm, config.authNonceLifetime * 1000),
    ledger: digest ? link : undefined,
    server,
    log,
    debugMode: config.debugMode,
  });
  return { hostAccess, authenticate };
}
