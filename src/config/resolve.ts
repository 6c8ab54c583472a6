/**
 * Pure: raw option values (only those the user gave) -> validated, frozen Config.
 * Every failure is a UsageError naming the flag (or file) and the reason.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { OPTIONS, type OptionSpec } from './options.js';
import { parseConfig, type Config } from './schema.js';
import { resolveAuthOptions } from './auth-options.js';
import { resolveDebugOptions } from './debug-options.js';
import { resolveLogOptions } from './log-options.js';
import { resolveModuleEntry } from './module-entry.js';
import { resolveTls } from './resolve-tls.js';
import { defaultServerRoot } from './server-root.js';
import { checkMonitoringOptions } from './monitoring-rules.js';
import { checkSupervisionOptions } from './supervision-rules.js';
import { resolveStaticOptions, type StaticValues } from './static-options.js';
import { workerIds } from './worker-access.js';
import { resolveApps, type FileApp } from './apps.js';
import { checkGroups } from './groups.js';
import { checkGroupAccounts } from './group-accounts.js';
import { resolveScript } from './script-path.js';

export type RawOptions = Record<string, unknown>;

export { SCRIPT_EXTENSIONS } from './script-path.js';

export interface ResolveContext {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly uid: number;
  readonly version: string;
  /** Problems that do not stop the server (an expired certificate); default: ignored. */
  readonly warn?: (message: string) => void;
}

function describe(value: unknown): string {
  return Array.isArray(value) ? value.map((v) => JSON.stringify(v)).join(' ') : JSON.stringify(value);
}

/** Validates each given option against its own schema; the first failure wins. */
/** The apps, their process groups checked. */
function resolveGroupedApps(v: Record<string, unknown>, raw: RawOptions, mountPoint: string, ctx: ResolveContext): ReturnType<typeof resolveApps> {
  const apps = resolveApps(v.mountApp as [string, string][], (raw.apps as FileApp[] | undefined) ?? [], mountPoint, ctx.cwd);
  checkGroups(apps);
  const front = workerIds(v, ctx.uid) ?? { uid: ctx.uid, gid: ctx.uid === 0 ? 0 : (process.getgid?.() ?? 0) };
  checkGroupAccounts(apps, { uid: ctx.uid, allowRoot: v.allowRoot === true }, front);
  return apps;
}

/** --mount-app-match: templates made absolute; refused in debug mode (docs/applications.md, Mass hosting). */
function resolveMatchTemplates(pairs: readonly [string, string][], debug: boolean, cwd: string): [string, string][] {
  if (pairs.length > 0 && debug) {
    throw new UsageError('--mount-app-match cannot be used with --debug-mode: debug mode runs one process, and pattern apps are started on demand in process groups of their own; mount each site with --mount-app instead');
  }
  return pairs.map(([regex, template]) => [regex, path.resolve(cwd, template)]);
}

export function validateOptions(raw: RawOptions): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const spec of OPTIONS as readonly OptionSpec[]) {
    const given = raw[spec.key];
    if (given === undefined) {
      if (spec.default !== undefined) values[spec.key] = spec.default;
      continue;
    }
    const result = spec.schema.safeParse(given);
    if (!result.success) {
      const message = result.error.issues[0]?.message ?? 'is not valid';
      throw new UsageError(`--${spec.flag} ${message} (got ${describe(given)})`);
    }
    values[spec.key] = result.data;
  }
  return values;
}

function normaliseMountPoint(mount: string): string {
  // mod_wsgi-express: normpath('/' + mp) only when the leading slash is missing.
  if (mount.startsWith('/')) return mount;
  return path.posix.normalize('/' + mount);
}

/** Host-name and proxy options that mean nothing without another (each would parse and do nothing). */
function checkHostAndProxyOptions(v: Record<string, unknown>): void {
  const given = (key: string) => (Array.isArray(v[key]) ? (v[key] as unknown[]).length > 0 : v[key] !== undefined && v[key] !== false);
  if (given('serverAlias') && !given('serverName')) {
    throw new UsageError('--server-alias needs --server-name: an alias is another name of the server name');
  }
  if (given('allowLocalhost') && !given('serverName')) {
    throw new UsageError('--allow-localhost needs --server-name: without one every host name is served already');
  }
  if (given('proxyProtocol') && !given('trustProxy')) {
    throw new UsageError('--proxy-protocol needs --trust-proxy IP|CIDR naming the proxies that send the PROXY header');
  }
  if (given('trustProxy') && !given('trustProxyHeader') && !given('proxyProtocol')) {
    throw new UsageError('--trust-proxy needs --trust-proxy-header NAME or --proxy-protocol: alone it changes nothing');
  }
}

/** A --*-max-timeout below its --*-timeout would cut every slow request at the maximum (Apache refuses it too). */
function checkMaxTimeouts(v: Record<string, unknown>): void {
  for (const part of ['header', 'body'] as const) {
    const timeout = v[`${part}Timeout`] as number;
    const max = v[`${part}MaxTimeout`] as number;
    if (timeout > 0 && max > 0 && max < timeout) {
      throw new UsageError(
        `--${part}-max-timeout must not be below --${part}-timeout (got ${max} and ${timeout}): raise it, or give 0 for no maximum`,
      );
    }
  }
}

export function resolveConfig(raw: RawOptions, positional: string | undefined, ctx: ResolveContext): Config {
  const v = validateOptions(raw);
  checkSupervisionOptions(v);
  checkHostAndProxyOptions(v);
  checkMaxTimeouts(v);
  const entry = (v.entryPoint as string | undefined) ?? positional;
  if (!entry) throw new UsageError('no application given: pass SCRIPT or --entry-point PATH');
  const isModule = v.applicationType === 'module';
  const explicitWd = v.workingDirectory ? path.resolve(ctx.cwd, v.workingDirectory as string) : undefined;
  if (explicitWd && !existsSync(explicitWd)) {
    throw new UsageError(`--working-directory ${explicitWd}: no such directory`);
  }
  if (explicitWd && !statSync(explicitWd).isDirectory()) {
    throw new UsageError(`--working-directory ${explicitWd}: not a directory`);
  }
  const scriptPath = isModule
    ? resolveModuleEntry(entry, explicitWd ?? ctx.cwd)
    : resolveScript(entry, ctx.cwd);
  const workingDirectory = explicitWd ?? (isModule ? ctx.cwd : path.dirname(scriptPath));
  const host = v.host as string | undefined;
  // mod_wsgi-express: the listener host, or localhost when none is given, names the
  // server root; --server-name, when given, is the name in URLs.
  const localName = host ?? 'localhost';
  const debugValues = resolveDebugOptions(v, raw, ctx.cwd);
  const debug = debugValues.debugMode;
  const serverRoot = v.serverRoot
    ? path.resolve(ctx.cwd, v.serverRoot as string)
    : defaultServerRoot(ctx, localName, v.port as number);
  const auth = resolveAuthOptions(v, raw, ctx.cwd);
  const mountPoint = normaliseMountPoint(v.mountPoint as string);
  checkMonitoringOptions(v, mountPoint);
  return parseConfig({
    ...v,
    ...auth,
    ...debugValues,
    ...resolveLogOptions(raw, v, ctx.cwd),
    ...resolveStaticOptions(v as unknown as StaticValues, ctx.cwd, workerIds(v, ctx.uid)),
    ...resolveTls(v, raw, ctx.cwd, ctx.warn ?? (() => {})),
    entryPoint: isModule ? entry : scriptPath,
    scriptPath,
    workingDirectory,
    serverRoot,
    serverHost: (v.serverName as string | undefined) ?? localName,
    mountPoint,
    apps: resolveGroupedApps(v, raw, mountPoint, ctx),
    mountAppMatch: resolveMatchTemplates(v.mountAppMatch as [string, string][], debug, ctx.cwd),
    pidFile: v.pidFile ? path.resolve(ctx.cwd, v.pidFile as string) : undefined,
    processes: debug ? 1 : ((v.processes as number | undefined) ?? 1),
    multiprocess: !debug && v.processes !== undefined,
    deadlockStacks: !debug && raw.deadlockTimeout !== undefined && (v.deadlockTimeout as number) > 0,
    threads: debug ? 1 : v.threads,
    version: ctx.version,
  });
}
