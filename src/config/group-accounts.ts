/**
 * A process group's own user and Unix group (an `apps` entry's `user` and
 * `unix-group`: mod_wsgi's `WSGIDaemonProcess user= group=`), checked at start:
 * only a server started as root can run a group as another account (unlike the
 * top-level --user, which is then ignored with a warning as in mod_wsgi-express,
 * a group's account is refused: running the group as the starter's own user
 * would silently give up the separation it asks for); root needs --allow-root as
 * --user root does; and the account must be able to read the group's scripts
 * and enter its working directory, checked as that account (worker-access.ts).
 */
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { Account, Group } from './accounts.js';
import type { AppConfig } from './apps.js';
import { MAIN_GROUP } from './groups.js';
import { checkWorkersCanRead } from './worker-access.js';

export interface StarterFacts {
  readonly uid: number;
  readonly allowRoot: boolean;
}

/** The ids a group's workers run as, given its own account settings and the front workers' ids. */
export function groupIds(user: Account | undefined, unixGroup: Group | undefined, front: { uid: number; gid: number }): { uid: number; gid: number } {
  return { uid: user?.uid ?? front.uid, gid: unixGroup?.gid ?? user?.gid ?? front.gid };
}

export function checkGroupAccounts(apps: readonly AppConfig[], starter: StarterFacts, front: { uid: number; gid: number }): void {
  const byGroup = new Map<string, AppConfig[]>();
  for (const app of apps) if (app.group !== MAIN_GROUP) byGroup.set(app.group, [...(byGroup.get(app.group) ?? []), app]);
  for (const members of byGroup.values()) {
    const user = members.find((a) => a.user !== undefined);
    const unixGroup = members.find((a) => a.unixGroup !== undefined);
    const given = user ?? unixGroup;
    if (given === undefined) continue;
    const key = user ? `user ${user.user!.name}` : `unix-group ${unixGroup!.unixGroup!.name}`;
    if (starter.uid !== 0) {
      throw new UsageError(
        `${given.source}: ${key}: a process group can run as another user or group only when the server is started as root (it was started as uid ${starter.uid}); start it as root, or leave the key out`,
      );
    }
    if (user?.user?.uid === 0 && !starter.allowRoot) {
      throw new UsageError(`${user.source}: user ${user.user.name}: the group's workers would run the application as root; give --allow-root if that is really meant`);
    }
    const ids = groupIds(user?.user, unixGroup?.unixGroup, front);
    if (ids.uid === 0 && ids.gid === 0) continue;
    const who = user?.user && ids.uid !== 0 ? `user ${user.user.name}` : `group ${unixGroup?.unixGroup?.name ?? ids.gid}`;
    const workingDirectory = members.find((a) => a.workingDirectory !== undefined);
    checkWorkersCanRead([
      ...members.map((a) => ({ flag: `${a.source}: script`, path: a.scriptPath, directory: false })),
      {
        flag: workingDirectory ? `${workingDirectory.source}: working-directory` : `${members[0]!.source}: working directory (the script's)`,
        path: workingDirectory?.workingDirectory ?? path.dirname(members[0]!.scriptPath),
        directory: true,
      },
    ], { ...ids, who });
  }
}
