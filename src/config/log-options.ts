/**
 * The log options that depend on each other, checked before anything starts
 * (each failure names its flags): where files go, what needs --rotate-logs, what
 * --log-to-terminal and --log-format json exclude, and a log directory that can
 * be created and written.
 */
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

type Raw = Record<string, unknown>;

const given = (raw: Raw, key: string) => raw[key] !== undefined && raw[key] !== false;

function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message.replace(/^\w+: /, '')}` : String(e.message ?? err);
}

/** Creates the directory if missing and checks it (and the files in it) can be written. */
function checkDirectory(dir: string, names: readonly string[]): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new UsageError(`--log-directory ${dir}: cannot be created (${errorText(err)})`);
  }
  if (!statSync(dir).isDirectory()) throw new UsageError(`--log-directory ${dir}: not a directory`);
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new UsageError(`--log-directory ${dir}: cannot be written (${errorText(err)})`);
  }
  for (const name of names) {
    const file = path.join(dir, name);
    if (!existsSync(file)) continue;
    if (!statSync(file).isFile()) throw new UsageError(`--log-directory ${dir}: ${name} is not a file`);
    try {
      accessSync(file, constants.W_OK);
    } catch (err) {
      throw new UsageError(`--log-directory ${dir}: ${name} cannot be written (${errorText(err)})`);
    }
  }
}

/**
 * Checks the combination of log options; returns the values to replace (the log
 * directory made absolute). `v` holds the validated values, `raw` what was given.
 */
export function resolveLogOptions(raw: Raw, v: Raw, cwd: string): Raw {
  if (v.logToTerminal === true) {
    for (const flag of ['log-directory', 'rotate-logs', 'startup-log'] as const) {
      const key = flag.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
      if (given(raw, key)) {
        throw new UsageError(`--log-to-terminal and --${flag} cannot be combined: --${flag} writes log files, --log-to-terminal keeps the logs on the terminal`);
      }
    }
  }
  if (v.rotateLogs !== true) {
    for (const flag of ['max-log-size', 'rotate-interval', 'max-log-files', 'compress-rotated-logs'] as const) {
      const key = flag.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
      if (given(raw, key)) throw new UsageError(`--${flag} applies to rotated logs: add --rotate-logs`);
    }
  }
  if (v.logFormat === 'json') {
    for (const flag of ['access-log-format', 'error-log-format'] as const) {
      const key = flag.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
      if (given(raw, key)) throw new UsageError(`--log-format json and --${flag} cannot be combined: json lines have fixed fields`);
    }
  }
  const names = [v.errorLogName, v.accessLogName, v.startupLogName] as string[];
  if (new Set(names).size < names.length) {
    throw new UsageError(`--error-log-name, --access-log-name and --startup-log-name must differ (got ${names.map((n) => JSON.stringify(n)).join(', ')})`);
  }
  if (typeof v.logDirectory !== 'string') return {};
  const logDirectory = path.resolve(cwd, v.logDirectory);
  checkDirectory(logDirectory, names);
  return { logDirectory };
}
