/**
 * The command line: `tsgi-express start-server [SCRIPT] [options]` -> a validated
 * Config, or an exit code once yargs has printed help or the version. Runs in the
 * short-lived parse process (parse-process.ts), so yargs and zod never load into
 * the long-lived master.
 */
import yargs from 'yargs';
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
  return { ...mergeOptions(file.raw, fromCli, argv.script as string | undefined), config: file.file };
}

async function toConfig(argv: Record<string, unknown>, version: string): Promise<Config> {
  return resolveConfig(await rawOptions(argv), argv.script as string | undefined, {
    cwd: process.cwd(),
    env: process.env,
    uid: process.getuid?.() ?? 0,
    version,
  });
}

/**
 * Parses args. Returns the Config to serve, or undefined when there is nothing
 * to start. Throws UsageError for a bad flag or value. yargs itself ends the
 * process (exit code 0) after printing --help or --version.
 */
export async function parseArgs(args: string[], columns: number | undefined): Promise<Config | undefined> {
  const version = packageVersion();
  let config: Config | undefined;
  await yargs(args)
    .scriptName(PROG)
    .usage(`${PROG} <command> [options]`)
    .command(
      'start-server [script]',
      'Start the server on an application script (TSGI, fetch or Node handler).',
      (y) =>
        y
          .positional('script', { type: 'string', describe: 'The application script (.ts .mts .cts .tsx .js .mjs .cjs)' })
          .options(yargsOptions())
          .strictOptions(),
      async (argv) => {
        config = await toConfig(argv as Record<string, unknown>, version);
      },
    )
    .demandCommand(1, 'No command was specified: use start-server.')
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
  return config;
}
