/**
 * The parse process: `node parse-process.js ARGS...`, started (and waited for)
 * by main.ts. Prints help, the version or one usage line itself; on success
 * writes the Config as JSON to fd 3 and exits 0.
 *
 * A process of its own, not a thread or the master's main thread, because the
 * master lives as long as the server: yargs, zod and the schema they build cost
 * about 25 MB of RSS, and a thread's share (its malloc arena, the pages of node
 * it touched) stays with the process after the thread ends. Measured: master
 * 72 MB parsing in place, 60 MB with a thread, 47 MB with this process (a bare
 * node:cluster primary is 46 MB). mod_wsgi-express does the same: a Python
 * program writes the configuration and Apache, without it, serves.
 */
import { writeSync } from 'node:fs';
import { ExitCode, UsageError } from '../errors.js';
import { parseCommand, PROG } from './parse-args.js';
import { packageVersion } from './version.js';
import { setupLines, setupServer } from '../setup/setup-server.js';
import { CONFIG_FD } from './parse-protocol.js';

function handOver(json: string): void {
  try {
    writeSync(CONFIG_FD, json);
  } catch (err) {
    // The master is gone (killed while it waited for us): nobody to tell.
    if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
    process.exitCode = ExitCode.FAILURE;
  }
}

try {
  const args = process.argv.slice(2);
  const parsed = await parseCommand(args, process.stdout.columns);
  if (parsed?.command === 'configtest') {
    process.stdout.write(`Configuration OK: ${parsed.config.scriptPath} on port ${parsed.config.port}\n`);
  } else if (parsed?.command === 'setup-server' || parsed?.config.setupOnly) {
    // As mod_wsgi-express's setup-server: the files that run the server later; nothing starts.
    process.stdout.write(setupLines(setupServer(parsed.config, args, process.cwd(), packageVersion())));
  } else if (parsed) handOver(JSON.stringify(parsed.config));
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`${PROG}: error: ${err.message}\n`);
  process.exitCode = ExitCode.USAGE;
}
