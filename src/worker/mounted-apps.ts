/**
 * The applications besides the main one (Config.apps: --mount-app and a config
 * file's `apps`), loaded in this worker beside it: each module imported once,
 * its interface chosen with its own --interface and --callable-object, its
 * environ given the server's --setenv/--passenv and then its own.
 */
import type { AppConfig } from '../config/apps.js';
import { servedHere } from '../config/groups.js';
import { sendError } from '../pipeline/error-response.js';
import type { Config } from '../config/schema.js';
import type { ServerInfo } from '../tsgi/environ.js';
import { selectInterface, type SelectedApp } from './select-interface.js';

type SelectOptions = Parameters<typeof selectInterface>[2];

/** The Config as one app sees it: its own mount, script, interface and environment. */
export function appView(config: Config, app: AppConfig): Config {
  return {
    ...config,
    mountPoint: app.mount,
    scriptPath: app.scriptPath,
    entryPoint: app.scriptPath,
    interface: app.interface,
    callableObject: app.callableObject,
    keepMountPrefix: app.keepMountPrefix,
    // In a group's workers the main app's own setenv is not the others'.
    setenv: [...(config.serverEnv ?? config).setenv, ...app.setenv],
    passenv: [...(config.serverEnv ?? config).passenv, ...app.passenv],
  };
}

/** The scripts of the mounted apps this worker loads: those of its own process group (config/groups.ts). */
export function localAppScripts(config: Config): string[] {
  return config.apps.filter((_, i) => servedHere(config, i)).map((a) => a.scriptPath);
}

/**
 * Stands in for an app another process group serves: the group-hop stage takes
 * its requests before the app call, so this answers only if that ever fails.
 */
function elsewhere(app: AppConfig): SelectedApp {
  return { kind: 'tsgi', label: `group ${app.group}`, handler: (ctx) => sendError(ctx.res, 500, { detail: `${app.mount} is served by process group ${app.group}.` }) };
}

/** Each mounted app's handlers, in Config.apps order; `namespaces` are the loaded modules of localAppScripts(), in order. */
export async function selectMountedApps(
  config: Config,
  namespaces: readonly Record<string, unknown>[],
  opts: SelectOptions,
  serverInfo: (view: Config) => ServerInfo,
): Promise<SelectedApp[]> {
  const selected: SelectedApp[] = [];
  let loaded = 0;
  for (const [i, app] of config.apps.entries()) {
    if (!servedHere(config, i)) {
      selected.push(elsewhere(app));
      continue;
    }
    const view = appView(config, app);
    try {
      selected.push(await selectInterface(namespaces[loaded++]!, view, { ...opts, server: serverInfo(view) }));
    } catch (err) {
      if (err instanceof Error) err.message = `${app.source} (${app.scriptPath}): ${err.message}`;
      throw err;
    }
  }
  return selected;
}
