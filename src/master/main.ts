/**
 * The master: validates nothing itself (the CLI hands it a Config), never runs
 * application code. It settles the port, writes the pid file and runs the
 * arbiter (arbiter.ts), the event loop that turns signals, ticks, file changes
 * and worker exits into short verbs on the worker pool (supervisor.ts).
 */
import cluster from 'node:cluster';
import { mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultServerRoot, pidFilePath } from '../config/server-root.js';
import type { Config } from '../config/schema.js';
import { ExitCode } from '../errors.js';
import { listenerSpecs } from '../config/listeners.js';
import { Arbiter } from './arbiter.js';
import { planGroups } from './group-pools.js';
import { reserveFreePorts } from './free-port.js';
import { ListenError, ListeningSocket, ListeningSockets } from './listening-socket.js';
import { appendStartupFailure, createLogWriter, logPaths } from './log-setup.js';
import type { LogWriter } from './log-writer.js';
import { AuthService } from './auth-service.js';
import { prepareDebugTools } from './debug-checks.js';
import { UsageError } from '../errors.js';
import { workerIdentity, type WorkerIdentity } from './privileges.js';
import { workerStdio } from './stuck-worker.js';
import { StartFailure } from './worker-handle.js';

const WORKER_ENTRY = fileURLToPath(new URL('../worker/main.js', import.meta.url));

/**
 * The concrete ports (keyed by listener name) in place of 0s. A default server
 * root is named after the port, so it follows --port 0's concrete port.
 */
function withPorts(config: Config, ports: Record<string, number>): Config {
  const port = ports.http ?? config.port;
  const httpsPort = ports.https ?? config.httpsPort;
  if (config.port === port && config.httpsPort === httpsPort) return config;
  const ctx = { env: process.env, uid: process.getuid?.() ?? 0 };
  const defaulted = config.serverRoot === defaultServerRoot(ctx, config.host ?? 'localhost', config.port);
  const serverRoot = defaulted ? defaultServerRoot(ctx, config.host ?? 'localhost', port) : config.serverRoot;
  return Object.freeze({ ...config, port, httpsPort, serverRoot });
}

/**
 * Settles the ports before the first fork, so every worker and every later
 * generation uses the same ones: one worker borrows the sockets the master binds
 * here, one per listener (listening-socket.ts); more workers bind through
 * node:cluster, so port 0 is turned into a free port for them.
 */
async function settlePorts(given: Config): Promise<{ config: Config; socket?: ListeningSockets }> {
  // --metrics-port 0 too: every worker of every generation listens on the same one.
  const metricsPort = given.metricsPort === 0 ? (await reserveFreePorts(given.host, 1))[0]! : given.metricsPort;
  const settled = metricsPort === given.metricsPort ? given : Object.freeze({ ...given, metricsPort });
  const specs = listenerSpecs(settled);
  if (settled.processes === 1 && ListeningSocket.supported) {
    const socket = await ListeningSockets.bind(settled.host, specs);
    return { config: withPorts(settled, socket.ports()), socket };
  }
  const unset = specs.filter((spec) => spec.port === 0);
  const free = await reserveFreePorts(settled.host, unset.length);
  return { config: withPorts(settled, Object.fromEntries(unset.map((spec, i) => [spec.name, free[i]!]))) };
}

function setupCluster(config: Config, socket: ListeningSockets | undefined, logs: LogWriter, identity: WorkerIdentity): void {
  // One worker whose socket node:cluster keeps (ListeningSocket unsupported) still
  // accepts on its own: a refused round-robin hand-off would have no worker to go to.
  // Must be set before setupPrimary, which fixes the policy.
  if (config.processes === 1 && !socket) {
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    logs.log.debug('node:net does not export _createServerHandle here: node:cluster keeps the listening socket, the worker accepts');
  }
  cluster.setupPrimary({
    exec: WORKER_ENTRY,
    // Debug mode: the app's output goes straight to the terminal.
    silent: !config.debugMode,
    // The same, plus the watchdog thread's pipe (--deadlock-timeout).
    stdio: workerStdio(config),
    execArgv: process.execArgv.filter((a) => !a.startsWith('--inspect')),
    // --user/--group, started as root.
    ...(identity.uid !== undefined ? { uid: identity.uid, gid: identity.gid } : {}),
  });
}

/** Removes the pid file unless another server has written its own pid there since. */
function removePidFile(file: string): void {
  try {
    if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
  } catch {
    // already gone
  }
}

function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir); // refuses (ENOTEMPTY) when anything is in it
  } catch {
    // not empty, or already gone
  }
}

/** Apache warns at start-up about a PassEnv variable that is not set; so do we, once. */
function warnUnsetPassenv(config: Config, logs: LogWriter): void {
  for (const name of new Set(config.passenv)) {
    if (process.env[name] === undefined) logs.log.warn(`--passenv ${name}: not set in the server's environment; left out of the environ`);
  }
}

/** `where` is unknown when a worker failed to bind: its own message (in `text`) names the port. */
function cannotListen(where: string | undefined, text: string): string {
  const what = where === undefined ? 'a worker cannot listen' : `cannot listen on ${where}`;
  return `tsgi-express: ${what} (is the port in use? see --host, --port, --https-port):\n${text}\n`;
}

/** Start-up failed: one message saying why (stderr, and the startup log), and the exit code for it. */
function reportStartFailure(err: unknown, logs: LogWriter): number {
  const text = err instanceof Error ? err.message : String(err);
  if (err instanceof StartFailure && err.cannotListen) {
    logs.startupFailure(cannotListen(undefined, text));
    return ExitCode.LISTEN;
  }
  if (err instanceof StartFailure && err.usage) {
    logs.startupFailure(`tsgi-express: error: ${text}\n`);
    return ExitCode.USAGE;
  }
  logs.startupFailure(`tsgi-express: the application could not be loaded:\n${text}\n`);
  return ExitCode.APP_LOAD;
}

/** How long the log files may take to be written out once the workers are gone (the terminal: half that). */
const LOG_CLOSE_MS = 1000;
/** After that, how long output still waiting for a slow reader of a pipe may keep the master alive. */
const EXIT_GRACE_MS = 500;

/**
 * Writes out the logs (bounded) and makes sure the process then exits: output
 * still waiting for a slow reader of a pipe would otherwise keep the master alive
 * after its work is done. docs/architecture.md, "Logging": at most 3 s in all.
 */
async function closeLogs(logs: LogWriter): Promise<void> {
  await logs.close(LOG_CLOSE_MS);
  setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
}

export async function runMaster(given: Config): Promise<number> {
  let settled;
  try {
    settled = await settlePorts(given);
  } catch (err) {
    const where = err instanceof ListenError ? err.where : `${given.host ?? '*'}:${given.port}`;
    const text = cannotListen(where, err instanceof Error ? err.message : String(err));
    process.stderr.write(text);
    appendStartupFailure(given, text);
    return ExitCode.LISTEN;
  }
  const { socket } = settled;
  let prepared: Config;
  try {
    prepared = await prepareDebugTools(settled.config);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    socket?.close();
    process.stderr.write(`tsgi-express: error: ${err.message}\n`);
    return ExitCode.USAGE;
  }
  // A root this run created (not given, not left by an earlier run) goes again on exit once
  // empty: it holds only the pid file, and every run on a new port would leave one behind.
  const createdRoot = mkdirSync(prepared.serverRoot, { recursive: true }) !== undefined;
  const logs = createLogWriter(prepared);
  logs.startup(`tsgi-express ${prepared.version} starting (pid ${process.pid}): ${prepared.scriptPath}, ${prepared.processes} process(es) * ${prepared.threads} thread(s), listening on ${prepared.host ?? '*'}:${prepared.port}${prepared.httpsPort === undefined ? '' : ` and ${prepared.httpsPort} (HTTPS)`}; logs in ${logPaths(prepared).directory ?? 'the terminal'}`);
  let config: Config;
  let dev;
  let tls;
  try {
    // Imported only for HTTPS: node:crypto and the certificate code stay out of a plain server's master.
    ({ config, dev, tls } = prepared.httpsPort === undefined
      ? { config: prepared, dev: undefined, tls: undefined }
      : await (await import('./tls-setup.js')).setupTls(prepared, logs.log));
  } catch (err) {
    socket?.close();
    logs.startupFailure(`tsgi-express: ${err instanceof Error ? err.message : String(err)}\n`);
    await closeLogs(logs);
    return ExitCode.FAILURE;
  }
  // Process groups: the main pool's workers learn each group's socket (config/groups.ts).
  const plan = planGroups(config);
  config = plan.config;
  const identity = workerIdentity(config, logs.log);
  setupCluster(config, socket, logs, identity);
  warnUnsetPassenv(config, logs);
  const pidFile = pidFilePath(config);
  writeFileSync(pidFile, `${process.pid}\n`);
  let auth;
  try {
    auth = AuthService.create(config, logs.log);
  } catch (err) {
    // A password file the parse process accepted a moment ago has changed since.
    logs.startupFailure(`tsgi-express: error: ${(err as Error).message}\n`);
    socket?.close();
    removePidFile(pidFile);
    await closeLogs(logs);
    return ExitCode.USAGE;
  }
  let arbiter;
  try {
    arbiter = new Arbiter({ config, logs, socket, auth, identity, dev, tls, groups: plan.groups, bootFailed: (err) => reportStartFailure(err, logs) });
  } catch (err) {
    // A process group's socket could not be bound (config/groups.ts says where).
    logs.startupFailure(cannotListen('a process group\'s unix socket', err instanceof Error ? err.message : String(err)));
    socket?.close();
    removePidFile(pidFile);
    await closeLogs(logs);
    return ExitCode.LISTEN;
  }
  try {
    return await arbiter.run();
  } finally {
    socket?.close();
    removePidFile(pidFile);
    if (createdRoot) removeIfEmpty(config.serverRoot);
    await closeLogs(logs);
  }
}
