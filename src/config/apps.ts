/**
 * The applications besides the main one: `--mount-app URL-PATH SCRIPT` on the
 * command line and the `apps` list of a --config file, resolved into one list
 * the master and the workers share. Each app names the process group it runs in
 * (config/groups.ts): its own by default. Every mistake is a UsageError naming
 * the flag or the file's key path: two apps on one mount, a mount that is not a
 * path, a missing script, a group name that is not one.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { UsageError } from '../errors.js';
import { groupAccount, userAccount } from './accounts.js';
import { resolveScript } from './script-path.js';

const INTERFACES = ['auto', 'tsgi', 'fetch', 'node'] as const;

/** One more application, as the Config carries it to the workers. */
export const appSchema = z.object({
  /** The mount (SCRIPT_NAME): `/api`; never ends in `/` except the root itself. */
  mount: z.string().min(1),
  scriptPath: z.string().min(1),
  interface: z.enum(INTERFACES),
  callableObject: z.string().min(1),
  keepMountPrefix: z.boolean(),
  /** This app's own --setenv pairs, applied over the server's. */
  setenv: z.array(z.tuple([z.string(), z.string()])),
  /** This app's own --passenv names, beside the server's. */
  passenv: z.array(z.string()),
  /** Where it was declared (`--mount-app /api`, `site.yaml: apps[1]`), for messages. */
  source: z.string(),
  /**
   * The process group it runs in: `main` (the main application's workers, which
   * accept every connection), a name several apps give to share workers, or by
   * default its own, named after its mount.
   */
  group: z.string().min(1),
  /** Its group's settings, when this entry gives them (config/groups.ts merges and checks them). */
  processes: z.number().int().min(1).optional(),
  threads: z.number().int().min(1).optional(),
  queueTimeout: z.number().min(0).optional(),
  workingDirectory: z.string().min(1).optional(),
  /** Started as root: the user and the Unix group its group's workers run as (mod_wsgi's `user=`, `group=`). */
  user: userAccount().optional(),
  unixGroup: groupAccount().optional(),
});
export type AppConfig = z.output<typeof appSchema>;

/** An `apps` entry of a config file, its values already checked by their options' schemas (config-file.ts). */
export interface FileApp {
  readonly where: string;
  readonly file: string;
  readonly mount: unknown;
  readonly script: unknown;
  /** The `group` key: the process group's name. */
  readonly group?: unknown;
  /** The `unix-group` key (checked by the --group option's schema): the Unix group its workers run as. */
  readonly unixGroup?: unknown;
  readonly raw: Record<string, unknown>;
}

/** `/api/` -> `/api`; a mount must be an absolute URL path without a query or fragment. */
export function normaliseAppMount(mount: unknown, where: string): string {
  if (typeof mount !== 'string' || !mount.startsWith('/') || /[?#\s]/.test(mount) || mount.includes('//')) {
    throw new UsageError(`${where}: the mount must be a URL path starting with / (got ${JSON.stringify(mount)})`);
  }
  const normal = path.posix.normalize(mount);
  if (normal !== mount.replace(/\/$/, '') && normal !== mount) {
    throw new UsageError(`${where}: the mount must not hold . or .. segments (got ${JSON.stringify(mount)})`);
  }
  return normal.length > 1 ? normal.replace(/\/$/, '') : normal;
}

function fromCommandLine(pairs: readonly (readonly [string, string])[], cwd: string): AppConfig[] {
  return pairs.map(([mount, script]) => {
    const source = `--mount-app ${mount}`;
    return {
      mount: normaliseAppMount(mount, source),
      scriptPath: resolveScript(script, cwd, source),
      interface: 'auto',
      callableObject: 'application',
      keepMountPrefix: false,
      setenv: [],
      passenv: [],
      source,
      group: mount,
    };
  });
}

const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A group an entry names; unnamed, the app gets one of its own, named after its mount. */
function groupName(given: unknown, mount: string, where: string): string {
  if (given === undefined || given === null) return mount;
  if (typeof given !== 'string' || !GROUP_NAME.test(given)) {
    throw new UsageError(`${where}: group must be a name of letters, digits, '_', '.' and '-' (got ${JSON.stringify(given)}); apps giving the same name share one group of worker processes`);
  }
  return given;
}

function workingDirectory(given: unknown, file: string, where: string): string | undefined {
  if (typeof given !== 'string') return undefined;
  const dir = path.resolve(path.dirname(file), given);
  if (!existsSync(dir)) throw new UsageError(`${where}: working-directory ${dir}: no such directory`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`${where}: working-directory ${dir}: not a directory`);
  return dir;
}

function fromFile(app: FileApp): AppConfig {
  const raw = app.raw;
  if (typeof app.script !== 'string' || app.script === '') throw new UsageError(`${app.where}: script must be the application's file (got ${JSON.stringify(app.script)})`);
  const mount = normaliseAppMount(app.mount, `${app.where}: mount`);
  const wd = workingDirectory(raw.workingDirectory, app.file, app.where);
  return {
    mount,
    scriptPath: resolveScript(app.script, path.dirname(app.file), `${app.where}: script`),
    interface: (raw.interface as AppConfig['interface'] | undefined) ?? 'auto',
    callableObject: (raw.callableObject as string | undefined) ?? 'application',
    keepMountPrefix: (raw.keepMountPrefix as boolean | undefined) ?? false,
    setenv: (raw.setenv as [string, string][] | undefined) ?? [],
    passenv: (raw.passenv as string[] | undefined) ?? [],
    source: app.where,
    group: groupName(app.group, mount, `${app.where}: group`),
    ...(raw.processes !== undefined ? { processes: raw.processes as number } : {}),
    ...(raw.threads !== undefined ? { threads: raw.threads as number } : {}),
    ...(raw.queueTimeout !== undefined ? { queueTimeout: raw.queueTimeout as number } : {}),
    ...(wd !== undefined ? { workingDirectory: wd } : {}),
    ...(raw.user !== undefined ? { user: userAccount().parse(raw.user) } : {}),
    ...(app.unixGroup !== undefined ? { unixGroup: groupAccount().parse(app.unixGroup) } : {}),
  };
}

/** Every app besides the main one, checked against each other and the main app's mount. */
export function resolveApps(mountApp: readonly (readonly [string, string])[], fileApps: readonly FileApp[], mainMount: string, cwd: string): AppConfig[] {
  const apps = [...fileApps.map(fromFile), ...fromCommandLine(mountApp, cwd)];
  const taken = new Map<string, string>([[mainMount.length > 1 ? mainMount.replace(/\/$/, '') : mainMount, 'the main application (--mount-point)']]);
  for (const app of apps) {
    const other = taken.get(app.mount);
    if (other !== undefined) throw new UsageError(`${app.source}: ${app.mount} is already the mount of ${other}; give each application its own`);
    taken.set(app.mount, app.source);
  }
  return apps;
}
