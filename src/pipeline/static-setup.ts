/**
 * The stages the static options add (compress, static, error-override), loaded
 * only when one of those options is given: a server without them never loads
 * the MIME database, zlib streams or the file-serving code (as the fetch adapter
 * is loaded only for fetch apps).
 */
import type { Config } from '../config/schema.js';
import type { Log } from '../logging/log.js';
import type { Stage } from './context.js';

export interface StaticStages {
  readonly compress?: Stage | undefined;
  /** Files from the document root and aliases; its presence makes the mount stage defer its 404. */
  readonly static?: Stage | undefined;
  readonly errorOverride?: Stage | undefined;
}

export function usesStaticOptions(config: Config): boolean {
  return config.documentRoot !== undefined || config.urlAlias.length > 0 || config.errorDocument.length > 0 ||
    config.compressResponses || config.errorOverride;
}

export async function loadStaticStages(config: Config, log: Log): Promise<StaticStages> {
  if (!usesStaticOptions(config)) return {};
  return (await import('./static-build.js')).buildStaticStages(config, log);
}
