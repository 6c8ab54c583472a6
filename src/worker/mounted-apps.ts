/**
 * The applications besides the main one (Config.apps: --mount-app and a config
 * file's `apps`), loaded in this worker beside it: each module imported once,
 * its interface chosen with its own --interface and --callable-object, its
 * environ given the server's --setenv/--passenv and then its own.
 */
import type { AppConfig } from '../config/apps.js';
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
    setenv: [...config.setenv, ...app.setenv],
    passenv: [...config.passenv, ...app.passenv],
  };
}

/** Each mounted app's handlers, in Config.apps order; `namespaces` are their loaded modules in that order. */
export async function selectMountedApps(
  config: Config,
  namespaces: readonly Record<string, unknown>[],
  opts: SelectOptions,
  serverInfo: (view: Config) => ServerInfo,
): Promise<SelectedApp[]> {
  const selected: SelectedApp[] = [];
  for (const [i, app] of config.apps.entries()) {
    const view = appView(config, app);
    try {
      selected.push(await selectInterface(namespaces[i]!, view, { ...opts, server: serverInfo(view) }));
    } catch (err) {
      if (err instanceof Error) err.message = `${app.source} (${app.scriptPath}): ${err.message}`;
      throw err;
    }
  }
  return selected;
}
