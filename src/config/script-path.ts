/** An application script named on the command line or in a config file, made absolute and checked. */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

export const SCRIPT_EXTENSIONS = ['.ts', '.mts', '.cts', '.tsx', '.js', '.mjs', '.cjs'];

/** `where` names the flag or key it came from (none: the main SCRIPT). */
export function resolveScript(entry: string, cwd: string, where?: string): string {
  const file = path.resolve(cwd, entry);
  const what = `${where ? `${where}: ` : ''}application script ${file}`;
  if (!existsSync(file)) throw new UsageError(`${what}: no such file`);
  if (!statSync(file).isFile()) throw new UsageError(`${what}: not a file`);
  if (!SCRIPT_EXTENSIONS.includes(path.extname(file))) {
    throw new UsageError(`${what}: unsupported extension (expected one of ${SCRIPT_EXTENSIONS.join(' ')})`);
  }
  return file;
}
