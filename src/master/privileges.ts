/**
 * --user, --group: who the workers run as. Started as root, the master keeps
 * root (it binds the ports, writes the logs and the pid file) and forks the
 * workers as the user and group given; node:cluster passes uid and gid to the
 * fork, and libuv drops the supplementary groups. Not started as root, the
 * options are ignored with a warning, as in mod_wsgi-express.
 */
import { groupIds } from '../config/group-accounts.js';
import type { ProcessGroup } from '../config/groups.js';
import type { Config } from '../config/schema.js';
import type { Log } from '../logging/log.js';

export interface WorkerIdentity {
  readonly uid?: number;
  readonly gid?: number;
  /** HOME, USER and LOGNAME of the user the workers run as. */
  readonly env: Readonly<Record<string, string>>;
  /** The banner's `Worker User` line, when the master runs as root. */
  readonly banner?: string;
}

const isRoot = () => process.getuid?.() === 0;

export function workerIdentity(config: Config, log: Log): WorkerIdentity {
  const { user, group } = config;
  if (!isRoot()) {
    if (user || group) {
      const given = [user && `--user ${user.name}`, group && `--group ${group.name}`].filter(Boolean).join(' and ');
      log.warn(`${given} ignored: the server was not started as root, so the workers run as its own user`);
    }
    return { env: {} };
  }
  if (!user && !group) {
    return { env: {}, banner: 'root (WARNING: the workers run the application as root; give --user NAME)' };
  }
  const uid = user?.uid ?? 0;
  const gid = group?.gid ?? user?.gid ?? 0;
  const env: Record<string, string> = user ? { HOME: user.home, USER: user.name, LOGNAME: user.name } : {};
  const groupText = group ? `${group.name} (gid ${gid})` : `gid ${gid}`;
  const warning = uid === 0 ? ' (WARNING: the workers run the application as root)' : '';
  return { uid, gid, env, banner: `${user?.name ?? 'root'} (uid ${uid}), group ${groupText}${warning}` };
}

/**
 * Who a process group's workers run as: the front workers' identity, unless the
 * group names its own user or Unix group (an `apps` entry's `user`, `unix-group`;
 * the command line refuses them unless the server starts as root).
 */
export function groupIdentity(front: WorkerIdentity, group: ProcessGroup): WorkerIdentity {
  if (!isRoot() || (group.user === undefined && group.unixGroup === undefined)) return front;
  const { uid, gid } = groupIds(group.user, group.unixGroup, { uid: front.uid ?? 0, gid: front.gid ?? 0 });
  const env = group.user ? { HOME: group.user.home, USER: group.user.name, LOGNAME: group.user.name } : front.env;
  const name = group.user?.name ?? front.env.USER ?? 'root';
  return { uid, gid, env, banner: `${name} (uid ${uid}), group ${group.unixGroup ? `${group.unixGroup.name} (gid ${gid})` : `gid ${gid}`}` };
}
