/**
 * The command line: `tsgi-express start-server [SCRIPT] [options]` -> a validated
 * Config, or an exit code once yargs has printed help or the version. Runs in the
 * short-lived parse process (parse-process.ts), so yargs and zod never load into
 * the long-lived master.
 */
import yargs, { type Argv } from 'yargs';
import { mergeOptions, readConfigFile } from '../config/config-file.js';
import { resolveConfig } from '../config/resolve.js';
import type { Config } from '../config/schema.js';
import { UsageError } from '../errors.js';
import { packageVersion } from './version.js';
import { rawFromArgv, yargsOptions } from './yargs-options.js';

export const PROG = 'tsgi-express';

function usageError(message: string): never {
  throw new UsageError(message.split('\n')[0]!);
}

/** The command line's options, over those of the --config file when one is given. */
async function rawOptions(argv: Record<string, unknown>): Promise<Record<string, unknown>> {
  const fromCli = rawFromArgv(argv);
  if (typeof fromCli.config !== 'string') return fromCli;
  const file = await readConfigFile(fromCli.config, process.cwd());
  return { ...mergeOptions(file.raw, fromCli, argv.script as string | undefined), config: file.file, apps: file.apps };
}

async function toConfig(argv: Record<string, unknown>, version: string): Promise<Config> {
  return resolveConfig(await rawOptions(argv), argv.script as string | undefined, {
    cwd: process.cwd(),
    env: process.env,
    uid: process.getuid?.() ?? 0,
    version,
    warn: (message) => process.stderr.write(`${PROG}: warning: ${message}\n`),
  });
}

/**
 * yargs renders the whole --help text after running any command, in case the
 * handler fails later and wants to show it: for our 200 options that is about
 * 110 ms of CPU on every server start, for a text nobody asked for. Our handlers
 * report their own errors, and a yargs failure (or --help) renders it anyway.
 */
function skipHelpCache(y: Argv): void {
  const usage = (y as unknown as { getInternalMethods?: () => { getUsageInstance(): { cacheHelpMessage?: () => void } } })
    .getInternalMethods?.()
    .getUsageInstance();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

/** What the command line asks for. */
export type Command = 'start-server' | 'setup-server' | 'configtest';

const COMMANDS: readonly [Command, string][] = [
  ['start-server', 'Start the server on an application script (TSGI, fetch or Node handler).'],
  ['setup-server', 'Write the configuration, a control script (tsgi-expressctl) and a systemd unit into the server root; start nothing.'],
  ['configtest', 'Check the options and the application script as start-server would, and start nothing (the control script\'s configtest).'],
];

/**
 * Parses args. Returns the command and its Config, or undefined when there is
 * nothing to do. Throws UsageError for a bad flag or value. yargs itself ends
 * the process (exit code 0) after printing --help or --version.
 */
export async function parseCommand(args: string[], columns: number | undefined): Promise<{ command: Command; config: Config } | undefined> {
  const version = packageVersion();
  let parsed: { command: Command; config: Config } | undefined;
  let y = yargs(args).scriptName(PROG).usage(`${PROG} <command> [options]`);
  for (const [command, description] of COMMANDS) {
    y = y.command(
      `${command} [script]`,
      description,
      (c) =>
        c
          .positional('script', { type: 'string', describe: 'The application script (.ts .mts .cts .tsx .js .mjs .cjs)' })
          .options(yargsOptions())
          .strictOptions(),
      async (argv) => {
        parsed = { command, config: await toConfig(argv as Record<string, unknown>, version) };
      },
    );
  }
  y = y
    .command(
      'replay <dir>',
      'Send the requests --enable-recorder saved in DIR to a server again; report the responses that differ (exit 1).',
      (y) =>
        y
          .positional('dir', { type: 'string', describe: 'The --recorder-directory to replay' })
          .option('url', { type: 'string', requiresArg: true, describe: 'The server to send them to: http://HOST:PORT/' })
          .option('compare-header', {
            type: 'string',
            requiresArg: true,
            describe: 'Also compare this response header (repeatable); status and body are always compared',
          })
          .strictOptions(),
      async (argv) => {
        if (typeof argv.url !== 'string') throw new UsageError('replay needs --url URL: the server to send the requests to');
        const compareHeaders = ([] as unknown[]).concat(argv['compare-header'] ?? []).map(String);
        // Imported here: it brings undici (about 110 modules), which parsing start-server's flags never needs.
        const { replay } = await import('./replay.js');
        process.exitCode = await replay({ dir: argv.dir as string, url: argv.url, compareHeaders, out: (line) => console.log(line) });
      },
    );
  skipHelpCache(y);
  await y
    .demandCommand(1, 'No command was specified: use start-server, setup-server, configtest or replay.')
    .strict()
    .version(version)
    .help()
    .wrap(Math.min(110, columns || 100))
    .parserConfiguration({ 'camel-case-expansion': false, 'boolean-negation': false })
    .fail((message, err) => {
      // yargs reports its own parse errors as YError; anything else is ours.
      if (err && err.name !== 'YError') throw err;
      usageError(message ?? err?.message ?? 'invalid arguments');
    })
    .parseAsync();
  return parsed;
}

/** The Config of a start-server command line (tests). */
export async function parseArgs(args: string[], columns: number | undefined): Promise<Config | undefined> {
  return (await parseCommand(args, columns))?.config;
}
