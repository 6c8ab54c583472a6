/**
 * Where the debugging tools write: the directory given, or its default in the
 * server root (mod_wsgi-express's layout). Shared by the master (banner, checks)
 * and the worker (writing); no schema library, so both can load it.
 */
import path from 'node:path';

export type DebugTool = 'profiler' | 'coverage' | 'recorder';

interface DebugDirectories {
  readonly serverRoot: string;
  readonly profilerDirectory?: string | undefined;
  readonly coverageDirectory?: string | undefined;
  readonly recorderDirectory?: string | undefined;
}

const DEFAULTS: Record<DebugTool, string> = { profiler: 'profiles', coverage: 'coverage', recorder: 'archive' };

export function debugDirectory(config: DebugDirectories, tool: DebugTool): string {
  const given = { profiler: config.profilerDirectory, coverage: config.coverageDirectory, recorder: config.recorderDirectory }[tool];
  return given ?? path.join(config.serverRoot, DEFAULTS[tool]);
}

/** The flag that names the directory, for messages. */
export function directoryFlag(tool: DebugTool): string {
  return `--${tool}-directory`;
}

/**
 * Extra time a stopping worker gets, past --shutdown-timeout, before the master
 * kills it: writing the coverage report (loading istanbul, mapping every file
 * through its source map, the HTML) takes seconds on a loaded machine.
 */
export function finishAllowanceMs(config: { enableCoverage: boolean }): number {
  return config.enableCoverage ? 30_000 : 0;
}
