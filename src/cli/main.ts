/**
 * `tsgi-express`: the parse process turns the command line into a validated
 * Config (or prints help, the version, or one line naming a bad flag and exits
 * 2, before anything starts); then the master runs in this very process (no
 * wrapper: signals sent to it act).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/schema.js';
import { ExitCode } from '../errors.js';
import { runMaster } from '../master/main.js';
import { CONFIG_FD } from './parse-protocol.js';

const PARSE_PROCESS = fileURLToPath(new URL('./parse-process.js', import.meta.url));

/** The Config to serve, or the exit code the parse process ended with. */
function parseInChild(args: string[]): Config | number {
  const child = spawnSync(
    process.execPath,
    [...process.execArgv.filter((a) => !a.startsWith('--inspect')), PARSE_PROCESS, ...args],
    { stdio: ['ignore', 'inherit', 'inherit', 'pipe'] },
  );
  if (child.error) throw child.error;
  const out = child.output[CONFIG_FD];
  if (child.status !== ExitCode.OK || !out || out.length === 0) return child.status ?? ExitCode.FAILURE;
  return Object.freeze(JSON.parse(out.toString('utf8'))) as Config;
}

export async function main(args: string[]): Promise<number> {
  const parsed = parseInChild(args);
  return typeof parsed === 'number' ? parsed : runMaster(parsed);
}
