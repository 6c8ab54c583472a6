/**
 * The command line: `tsgi-express start-server [SCRIPT] [options]`. Turns argv
 * into a validated Config (or one line naming the bad flag and exit code 2),
 * then runs the master in this very process (no wrapper: signals sent to it act).
 */
import yargs from 'yargs';
import { resolveConfig } from '../config/resolve.js';
import { ExitCode, UsageError } from '../errors.js';
import { runMaster } from '../master/main.js';
import { packageVersion } from './version.js';
import { rawFromArgv, yargsOptions } from './yargs-options.js';

const PROG = 'tsgi-express';

function usageError(message: string): never {
  throw new UsageError(message.split('\n')[0]!);
}

async function startServer(argv: Record<string, unknown>, version: string): Promise<number> {
  const positional = argv.script as string | undefined;
  const config = resolveConfig(rawFromArgv(argv), positional, {
    cwd: process.cwd(),
    env: process.env,
    uid: process.getuid?.() ?? 0,
    version,
  });
  return runMaster(config);
}

export async function main(args: string[]): Promise<number> {
  const version = packageVersion();
  let result: Promise<number> | undefined;
  try {
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
        (argv) => {
          result = startServer(argv as Record<string, unknown>, version);
        },
      )
      .demandCommand(1, 'No command was specified: use start-server.')
      .strict()
      .version(version)
      .help()
      .wrap(Math.min(110, process.stdout.columns || 100))
      .parserConfiguration({ 'camel-case-expansion': false, 'boolean-negation': false })
      .fail((message, err) => {
        // yargs reports its own parse errors as YError; anything else is ours.
        if (err && err.name !== 'YError') throw err;
        usageError(message ?? err?.message ?? 'invalid arguments');
      })
      .parseAsync();
    return result ? await result : ExitCode.OK;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${PROG}: error: ${err.message}\n`);
      return ExitCode.USAGE;
    }
    throw err;
  }
}
