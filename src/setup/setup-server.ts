/**
 * `tsgi-express setup-server SCRIPT [options]` and `start-server --setup-only`:
 * write into the server root what runs this server later, as mod_wsgi-express
 * writes httpd.conf and apachectl (reference §1.2):
 *
 * - `tsgi-express.json`: the resolved configuration, to read (what the options
 *   given came to: defaults, paths made absolute, the server root);
 * - `tsgi-expressctl` (0755): the control script (templates/tsgi-expressctl.sh),
 *   which runs `tsgi-express start-server` with the same options from the same
 *   working directory, and signals the master through its pid file;
 * - `tsgi-express.service`: a systemd unit running it (templates/tsgi-express.service).
 *
 * Runs in the parse process: nothing starts.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/schema.js';
import { pidFilePath } from '../config/server-root.js';
import { UsageError } from '../errors.js';
import { fill, template } from '../pipeline/templates.js';

export const CONTROL_SCRIPT = 'tsgi-expressctl';
export const CONFIG_FILE = 'tsgi-express.json';
export const SYSTEMD_UNIT = 'tsgi-express.service';

const CLI = fileURLToPath(new URL('../../bin/tsgi-express', import.meta.url));

/** One word for sh, whatever it holds. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The options as given, less the command and --setup-only: what the control script passes on. */
export function serverArgs(argv: readonly string[]): string[] {
  return argv.slice(1).filter((a) => !/^--setup-only(=.*)?$/.test(a));
}

/** Where `tsgi-expressctl status` reads the status page: the server's own port, from this machine. */
function statusUrl(config: Config): string {
  if (!config.serverStatus) return '';
  const host = config.host;
  const local = host === undefined || host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const name = local.includes(':') ? `[${local}]` : local;
  return `http://${name}:${config.port}/server-status?auto`;
}

/** systemd's quoting: a word in double quotes, with \ and " escaped. */
function systemdQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `"${word.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

export interface SetupResult {
  readonly serverRoot: string;
  readonly controlScript: string;
  readonly configFile: string;
  readonly systemdUnit: string;
}

export function setupServer(config: Config, argv: readonly string[], cwd: string, version: string): SetupResult {
  if (config.port === 0) {
    const asked = config.setupOnly ? 'start-server --setup-only' : 'setup-server';
    throw new UsageError(`--port 0 picks another free port at each start: ${asked} needs a fixed --port`);
  }
  const root = config.serverRoot;
  try {
    return writeSetup(config, argv, cwd, version);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`--server-root ${root}: cannot write the server's files there (${(err as Error).message})`);
  }
}

function writeSetup(config: Config, argv: readonly string[], cwd: string, version: string): SetupResult {
  const root = config.serverRoot;
  mkdirSync(root, { recursive: true });
  const args = serverArgs(argv);
  const controlScript = path.join(root, CONTROL_SCRIPT);
  const stopWait = Math.ceil(config.drainDelay + config.shutdownTimeout + 10);
  const script = fill(template('tsgi-expressctl.sh'), {
    COMMAND_LINE: argv.join(' ').replace(/\n/g, ' '),
    VERSION: version,
    NODE: shellQuote(process.execPath),
    CLI: shellQuote(CLI),
    SERVER_ROOT: shellQuote(root),
    PID_FILE: shellQuote(pidFilePath(config)),
    WORKING_DIRECTORY: shellQuote(cwd),
    STATUS_URL: shellQuote(statusUrl(config)) || "''",
    START_WAIT: String(Math.ceil(config.startupTimeout + 15)),
    STOP_WAIT: String(stopWait),
    ARGS: args.map(shellQuote).join(' '),
  });
  writeFileSync(controlScript, script, { mode: 0o755 });
  chmodSync(controlScript, 0o755); // an existing file keeps its mode otherwise

  const configFile = path.join(root, CONFIG_FILE);
  writeFileSync(configFile, JSON.stringify(config, null, 2) + '\n');

  const systemdUnit = path.join(root, SYSTEMD_UNIT);
  const uid = process.getuid?.() ?? 0;
  writeFileSync(systemdUnit, fill(template('tsgi-express.service'), {
    SCRIPT: config.scriptPath,
    WORKING_DIRECTORY: systemdQuote(cwd),
    CONTROL_SCRIPT: systemdQuote(controlScript),
    STOP_WAIT: String(stopWait + 5),
    USER: unitUser(uid, config.user?.name),
  }));
  return { serverRoot: root, controlScript, configFile, systemdUnit };
}

/**
 * The unit's user. Set up by root, the service starts as root: with --user the master
 * keeps root (it binds the ports, ports below 1024 included, and writes the logs) and only
 * the workers run as that user, so no `User=`; without --user, the unit says what to choose.
 * Set up by anyone else, the service runs as them.
 */
function unitUser(uid: number, user: string | undefined): string {
  if (uid !== 0) return `User=${userInfo().username}`;
  if (user) return `# No User=: the master stays root to bind the ports; its workers run as --user ${user}.`;
  return [
    '# Started as root, the workers run the application as root. Either run setup-server again with',
    '# --user NAME (the master keeps root and binds the ports; the workers run as NAME), or set',
    '# User= here (the whole server runs as that user; a port below 1024 then needs',
    '# AmbientCapabilities=CAP_NET_BIND_SERVICE).',
    '# User=www-data',
  ].join('\n');
}

/** The lines setup-server prints, in the banner's layout. */
export function setupLines(result: SetupResult): string {
  const rows: [string, string][] = [
    ['Server Root', result.serverRoot],
    ['Control Script', result.controlScript],
    ['Configuration', result.configFile],
    ['Systemd Unit', result.systemdUnit],
  ];
  return rows.map(([label, value]) => `${label.padEnd(19)}: ${value}`).join('\n') + '\n';
}
