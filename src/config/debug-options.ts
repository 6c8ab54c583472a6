/**
 * The debugging options checked together (resolve.ts calls this): every
 * --enable-* tool implies --debug-mode, as in mod_wsgi-express (so the tools
 * never run outside it); --debugger-startup needs --enable-debugger; the
 * directories are made absolute. Whether a directory can be written, and
 * whether the debugger port is free, the master checks before the first fork
 * (master/debug-checks.ts): a default directory lives in the server root, which
 * is named only once the port is known.
 */
import path from 'node:path';
import { UsageError } from '../errors.js';

type Values = Record<string, unknown>;

const TOOLS = ['enableDebugger', 'enableProfiler', 'enableCoverage', 'enableRecorder'] as const;

const DIRECTORIES = [
  ['profilerDirectory', 'enableProfiler', 'profiler-directory', 'enable-profiler'],
  ['coverageDirectory', 'enableCoverage', 'coverage-directory', 'enable-coverage'],
  ['recorderDirectory', 'enableRecorder', 'recorder-directory', 'enable-recorder'],
] as const;

export interface DebugValues {
  readonly debugMode: boolean;
  readonly startupTimeout: number;
  readonly profilerDirectory?: string;
  readonly coverageDirectory?: string;
  readonly recorderDirectory?: string;
}

export function resolveDebugOptions(v: Values, raw: Values, cwd: string): DebugValues {
  if (v.debuggerStartup === true && v.enableDebugger !== true) {
    throw new UsageError('--debugger-startup needs --enable-debugger: it waits for the debugger that option opens');
  }
  if (raw.debuggerPort !== undefined && v.enableDebugger !== true) {
    throw new UsageError('--debugger-port needs --enable-debugger: without it no inspector is opened');
  }
  const values: { -readonly [K in keyof DebugValues]: DebugValues[K] } = {
    debugMode: v.debugMode === true || TOOLS.some((tool) => v[tool] === true),
    // A worker waiting for a debugger to attach is not late: mod_wsgi-express waits too.
    startupTimeout: v.debuggerStartup === true ? 0 : (v.startupTimeout as number),
  };
  for (const [key, tool, flag, toolFlag] of DIRECTORIES) {
    const given = v[key] as string | undefined;
    if (given === undefined) continue;
    if (v[tool] !== true) throw new UsageError(`--${flag} needs --${toolFlag}: nothing else writes there`);
    values[key] = path.resolve(cwd, given);
  }
  return values;
}
