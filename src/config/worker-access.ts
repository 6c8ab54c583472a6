/**
 * Whether the workers can read the files the static options name, when they
 * run as another user than the one starting the server (root with --user or
 * --group, src/master/privileges.ts). The start-up checks run as root, who
 * reads everything; a document root only root may enter would start fine and
 * then answer 403 for every file. So the same access checks are made again by
 * a short-lived process with the workers' uid and gid (and, as the workers, no
 * supplementary groups): exact, ACLs and all, with no rules of our own.
 */
import { spawnSync } from 'node:child_process';
import { UsageError } from '../errors.js';

export interface PathToRead {
  readonly flag: string;
  readonly path: string;
  /** A directory must be searchable as well as readable. */
  readonly directory: boolean;
}

export interface WorkerIds {
  readonly uid: number;
  readonly gid: number;
  /** For the message: `user nobody`, `group www-data`. */
  readonly who: string;
}

// Runs as the workers' user: prints, for each path, the error code of access(2) or null.
const CHECK = `const fs = require('node:fs');
const paths = JSON.parse(process.argv[1]);
process.stdout.write(JSON.stringify(paths.map(([p, dir]) => {
  try { fs.accessSync(p, dir ? fs.constants.R_OK | fs.constants.X_OK : fs.constants.R_OK); return null; }
  catch (err) { return err.code ?? String(err); }
})));`;

/** Throws a UsageError naming the flag of the first path the workers could not read. */
export function checkWorkersCanRead(paths: readonly PathToRead[], ids: WorkerIds): void {
  if (paths.length === 0) return;
  const result = spawnSync(process.execPath, ['-e', CHECK, JSON.stringify(paths.map((p) => [p.path, p.directory]))], {
    uid: ids.uid, gid: ids.gid, encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'], env: {},
  });
  // The check could not run (Node itself out of the user's reach): the workers will not start
  // either, and their failure says why; this check has nothing to add.
  if (result.status !== 0) return;
  let codes: (string | null)[];
  try {
    codes = JSON.parse(result.stdout) as (string | null)[];
  } catch {
    return;
  }
  paths.forEach((p, i) => {
    const code = codes[i];
    if (code === null || code === undefined) return;
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code;
    throw new UsageError(`${p.flag} ${p.path}: cannot be read by ${ids.who}, whom the workers run as (${why}); give that user access, or serve the files from elsewhere`);
  });
}

/**
 * The ids the workers will run as when they differ from the starter's: only a
 * server started as root switches (src/master/privileges.ts); undefined otherwise.
 */
export function workerIds(v: Record<string, unknown>, starterUid: number): WorkerIds | undefined {
  const user = v.user as { name: string; uid: number; gid: number } | undefined;
  const group = v.group as { name: string; gid: number } | undefined;
  if (starterUid !== 0 || (user === undefined && group === undefined)) return undefined;
  const uid = user?.uid ?? 0;
  const gid = group?.gid ?? user?.gid ?? 0;
  if (uid === 0 && gid === 0) return undefined;
  return { uid, gid, who: user && uid !== 0 ? `user ${user.name}` : `group ${group?.name ?? gid}` };
}
