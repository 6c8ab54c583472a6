/**
 * Process groups, mod_wsgi's daemon process groups: which applications run in
 * which worker processes. The main application's group (`main`) holds the
 * workers that accept every connection and run the front stages; every other
 * application runs, by default, in a group of its own, or in one it shares with
 * the apps naming the same `group`. A group's workers share nothing with
 * another's: not memory, globals nor process.env, and a crash, reload or bad
 * deploy of one is not felt by another. A request for an app in another group
 * crosses the hop (groups/hop-forward.ts) to that group's unix socket.
 *
 * Pure functions of the Config: the command line checks the groups here
 * (checkGroups), the master starts one pool per group (processGroups,
 * groupView), the front workers route by them (hopTargets).
 */
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { Account, Group } from './accounts.js';
import type { AppConfig } from './apps.js';
import type { Config } from './schema.js';

/** The name of the main application's group, which apps join with `group: main`. */
export const MAIN_GROUP = 'main';

export interface ProcessGroup {
  readonly name: string;
  /** Indexes into Config.apps of the apps it serves, in order. */
  readonly apps: readonly number[];
  readonly processes: number;
  readonly threads: number;
  readonly queueTimeout: number;
  readonly workingDirectory: string;
  /** tsgi.multiprocess in its apps' environ: mod_wsgi's rule, processes given at all. */
  readonly multiprocess: boolean;
  /** Started as root: who its workers run as, when not the front's workers' user and group (master/privileges.ts). */
  readonly user?: Account;
  readonly unixGroup?: Group;
}

const GROUP_SETTINGS = ['processes', 'threads', 'queueTimeout', 'workingDirectory', 'user', 'unixGroup'] as const;
type GroupSetting = (typeof GROUP_SETTINGS)[number];
const FLAG: Record<GroupSetting, string> = {
  processes: 'processes',
  threads: 'threads',
  queueTimeout: 'queue-timeout',
  workingDirectory: 'working-directory',
  user: 'user',
  unixGroup: 'unix-group',
};

/** A setting as written in messages (an account by its name), and compared. */
const shown = (value: AppConfig[GroupSetting]): string => JSON.stringify(typeof value === 'object' ? value.name : value);

/**
 * Start-up checks (resolve.ts): a group's settings given by two of its apps must
 * agree, and the main group's are the top-level options.
 */
export function checkGroups(apps: readonly AppConfig[]): void {
  const first = new Map<string, Map<GroupSetting, AppConfig>>();
  for (const app of apps) {
    for (const key of GROUP_SETTINGS) {
      const value = app[key];
      if (value === undefined) continue;
      if (app.group === MAIN_GROUP) {
        throw new UsageError(`${app.source}: ${FLAG[key]}: the main application's group (group: ${MAIN_GROUP}) is sized by the top-level options; give ${FLAG[key]} there`);
      }
      const settings = first.get(app.group) ?? new Map<GroupSetting, AppConfig>();
      first.set(app.group, settings);
      const earlier = settings.get(key);
      if (earlier === undefined) settings.set(key, app);
      else if (shown(earlier[key]) !== shown(value)) {
        throw new UsageError(
          `${app.source}: ${FLAG[key]} ${shown(value)} conflicts with ${earlier.source}'s ${shown(earlier[key])} for group "${app.group}"; give it once, in either entry`,
        );
      }
    }
  }
}

/** Whether the server runs process groups at all: not in debug mode (one process, every app in it). */
export function usesGroups(config: Pick<Config, 'debugMode' | 'apps'>): boolean {
  return !config.debugMode && config.apps.some((app) => app.group !== MAIN_GROUP);
}

/** The groups besides the main one, in the order of their first app. */
export function processGroups(config: Config): ProcessGroup[] {
  if (!usesGroups(config)) return [];
  const byName = new Map<string, number[]>();
  config.apps.forEach((app, i) => {
    if (app.group === MAIN_GROUP) return;
    const list = byName.get(app.group) ?? [];
    list.push(i);
    byName.set(app.group, list);
  });
  return [...byName].map(([name, indexes]) => {
    const members = indexes.map((i) => config.apps[i]!);
    const given = <K extends GroupSetting>(key: K): AppConfig[K] | undefined => members.find((a) => a[key] !== undefined)?.[key];
    const processes = given('processes');
    const user = given('user');
    const unixGroup = given('unixGroup');
    return {
      name,
      apps: indexes,
      processes: processes ?? config.processes,
      threads: given('threads') ?? config.threads,
      queueTimeout: given('queueTimeout') ?? config.queueTimeout,
      workingDirectory: given('workingDirectory') ?? path.dirname(members[0]!.scriptPath),
      multiprocess: processes !== undefined || config.multiprocess,
      ...(user !== undefined ? { user } : {}),
      ...(unixGroup !== undefined ? { unixGroup } : {}),
    };
  });
}

/**
 * The unix socket each group's workers accept on: in the server root, or, when
 * that path is too long for a socket address (108 bytes), in the temporary
 * directory, named after the master's pid.
 */
export function groupSocketPaths(config: Config, groups: readonly ProcessGroup[]): Record<string, string> {
  const paths: Record<string, string> = {};
  groups.forEach((group, i) => {
    paths[group.name] = groupSocketPath(config, `group-${i + 1}`);
  });
  return paths;
}

/** `NAME.sock` in the server root, or in the temporary directory when that is too long a socket address. */
export function groupSocketPath(config: Config, name: string): string {
  const inRoot = path.join(config.serverRoot, `${name}.sock`);
  return Buffer.byteLength(inRoot) < 100 ? inRoot : path.join(os.tmpdir(), `tsgi-express-${process.pid}-${name}.sock`);
}

/**
 * The Config a group's workers run with: its first app as their main one, the
 * others mounted beside it, the group's size and settings, and none of what the
 * front alone does (listeners other than the group's socket, access control,
 * static files, monitoring, proxy mounts).
 */
export function groupView(config: Config, group: ProcessGroup): Config {
  const [first, ...rest] = group.apps.map((i) => config.apps[i]!);
  return Object.freeze({
    ...config,
    mountPoint: first!.mount,
    scriptPath: first!.scriptPath,
    entryPoint: first!.scriptPath,
    applicationType: 'script',
    interface: first!.interface,
    callableObject: first!.callableObject,
    keepMountPrefix: first!.keepMountPrefix,
    setenv: [...config.setenv, ...first!.setenv],
    passenv: [...config.passenv, ...first!.passenv],
    serverEnv: { setenv: config.setenv, passenv: config.passenv },
    apps: rest,
    processes: group.processes,
    threads: group.threads,
    queueTimeout: group.queueTimeout,
    workingDirectory: group.workingDirectory,
    multiprocess: group.multiprocess,
    servesGroup: group.name,
    groupSockets: undefined,
    httpsPort: undefined,
    http2: false,
    proxyProtocol: false,
    maxConnections: undefined,
    metricsPort: undefined,
    metricsPath: undefined,
    serverStatus: false,
    healthCheckPath: undefined,
    accessLog: false,
    enableRecorder: false,
    authUserScript: undefined,
    authGroupScript: undefined,
    hostAccessScript: undefined,
    documentRoot: undefined,
    urlAlias: [],
    errorDocument: [],
    compressResponses: false,
    errorOverride: false,
    proxyMountPoint: [],
    proxyVirtualHost: [],
  } as Config);
}

/** Where a request for application i (0: the main one) goes: undefined when this worker serves it. */
export interface HopTarget {
  readonly group: string;
  readonly socketPath: string;
  /** The app's index among its group's (0: the group's first, its main one). */
  readonly index: number;
}

/** For the front workers: each application's hop, by ctx.appIndex; empty without groups. */
export function hopTargets(config: Config): (HopTarget | undefined)[] {
  const sockets = config.groupSockets;
  if (sockets === undefined || config.servesGroup !== undefined) return [];
  const seen = new Map<string, number>();
  return [undefined, ...config.apps.map((app) => {
    const socketPath = sockets[app.group];
    if (socketPath === undefined) return undefined;
    const index = seen.get(app.group) ?? 0;
    seen.set(app.group, index + 1);
    return { group: app.group, socketPath, index };
  })];
}

/** Whether this worker loads and serves Config.apps[i] itself. */
export function servedHere(config: Config, i: number): boolean {
  return config.groupSockets === undefined || config.servesGroup !== undefined || config.groupSockets[config.apps[i]!.group] === undefined;
}
