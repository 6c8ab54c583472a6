/**
 * Entry point of every worker process (forked by the master through node:cluster).
 * Parses the Config the master handed over, loads the application once, builds
 * the pipeline and listens; reports ready, or the load failure, to the master.
 */
// First: it decides whether tsx may use its transform cache before tsx is loaded.
import { transformCacheOff } from './transform-cache.js';
import { writeSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema.js';
import { ExitCode, UsageError } from '../errors.js';
import type { MasterMessage, WorkerQuestions } from '../ipc/messages.js';
import { answer, type Answerers } from '../ipc/rpc.js';
import { batcherOptions } from '../logging/error-format.js';
import { formatError } from '../pipeline/error-response.js';
import { loadStaticStages } from '../pipeline/static-setup.js';
import type { ServerInfo } from '../tsgi/environ.js';
import { fileWrapper } from '../tsgi/file-wrapper.js';
import { accessControlled, accessScripts } from '../auth/access-config.js';
import { masterLink } from './auth-channel.js';
import { captureOutput } from './capture-output.js';
import { startDebugTools } from './debug-tools.js';
import { drain, ListenerRelease } from './drain.js';
import { ListenCapture, plannedAddress } from './listen-capture.js';
import { loadApp } from './load-app.js';
import { listenOnLentPipe } from './lent-pipe.js';
import { LogBatcher } from './log-batcher.js';
import { askMaster, listenToMaster, send } from './master-channel.js';
import { createInFlight, workerStats } from './request-accounting.js';
import { startWatchdogThread } from './watchdog.js';
import { currentRequestId } from './request-scope.js';
import { localAppScripts, selectMountedApps } from './mounted-apps.js';
import { selectInterface } from './select-interface.js';
import { createWorkerServer, type WorkerServer } from './server.js';
import { Monitoring } from './monitoring.js';
import type { ListenerName, ListenerSpec } from '../config/listeners.js';

function serverInfo(config: Config): ServerInfo {
  // Later --setenv values replace earlier ones (as repeated SetEnv lines do);
  // --setenv wins over --passenv for the same name.
  const set = new Map(config.setenv);
  const extra: [string, string][] = [...set];
  for (const name of config.passenv) {
    const value = process.env[name];
    if (value !== undefined && !set.has(name)) extra.push([name, value]);
  }
  return {
    serverName: config.serverName,
    multithread: config.threads !== 1,
    multiprocess: config.multiprocess,
    extra,
    version: config.version,
    scriptPath: config.scriptPath,
    debugMode: config.debugMode,
    fileWrapper,
    sslEnvironment: config.sslEnvironment,
  };
}

/** The address a captured listen() reports: the worker's own, once it listens. */
function listeningAddress(config: Config, ws: WorkerServer | undefined): AddressInfo {
  const address = ws?.http1.address();
  return typeof address === 'object' && address !== null ? address : plannedAddress(config.host, config.port);
}

/**
 * How long a module that exports nothing servable may take to call listen():
 * what is left of --startup-timeout, less a moment to report the failure before
 * the master gives up on this worker (0: no limit).
 */
function listenWait(config: Config): number {
  if (config.startupTimeout === 0) return 0;
  return Math.max(100, config.startupTimeout * 1000 - performance.now() - 1000);
}

/**
 * How long a crashed worker lets the requests in flight finish before it exits
 * (close-with-grace's pattern; its connections are told to close meanwhile).
 */
const CRASH_DRAIN_MS = 2000;
/** And a moment more to hand back its listener and flush its logs, whatever else hangs. */
const CRASH_EXIT_MS = CRASH_DRAIN_MS + 500;

/**
 * Crashes are reported on stderr synchronously (the master reads that pipe even if
 * IPC is gone). Before exiting, the worker stops as a drain does, within a short
 * deadline: it stops taking connections, so that those the master is handing it go
 * to another worker instead of hanging; its kept-alive HTTP/1.1 connections get
 * `Connection: close` on their next response and its HTTP/2 sessions a GOAWAY, so
 * their clients go to the other workers; the requests in flight may finish. Then
 * the records still queued for the master leave, and it exits.
 */
function reportCrash(err: unknown, running: () => number, batcher: LogBatcher, stop: (exit: () => void) => void): void {
  const rid = currentRequestId();
  const where = rid ? `while handling request ${rid}` : `with ${running()} requests in flight`;
  writeSync(2, `worker ${process.pid} crashed ${where}: ${formatError(err)}\n`);
  // A second crash while exiting only adds its line: the drain runs once and
  // the first of the exits below wins.
  setTimeout(() => process.exit(ExitCode.FAILURE), CRASH_EXIT_MS);
  stop(() => batcher.flush(() => process.exit(ExitCode.FAILURE)));
}

/**
 * What a listener listens on: with one worker, the socket the master owns and
 * lends (master/listening-socket.ts), asked for only now so the answer cannot
 * arrive before anyone waits for it (it comes through the table,
 * `listen-socket`, one per listener); otherwise host:port, shared through
 * node:cluster.
 */
function listenTarget(config: Config, spec: ListenerSpec, lent: SocketLoans, backlog: number): Promise<object> {
  if (process.env.TSGI_EXPRESS_SOCKET !== 'borrow') return Promise.resolve({ port: spec.port, host: config.host, backlog });
  const loan = lent.wait(spec.name);
  send({ t: 'borrow-socket', listener: spec.name });
  return loan;
}

/** The sockets the master lends, by listener name, as they arrive. */
class SocketLoans {
  private readonly waiting = new Map<ListenerName, (handle: object) => void>();
  wait(name: ListenerName): Promise<object> {
    return new Promise((resolve) => this.waiting.set(name, resolve));
  }
  lent(name: ListenerName, handle: object): void {
    this.waiting.get(name)?.(handle);
    this.waiting.delete(name);
  }
}

async function listen(config: Config, ws: WorkerServer, lent: SocketLoans): Promise<void> {
  const backlog = ws.settings.backlog;
  await Promise.all(
    ws.listeners.map(async ({ spec, server }) => {
      const target = await listenTarget(config, spec, lent, backlog);
      await new Promise<void>((resolve) => {
        server.once('error', (err: NodeJS.ErrnoException) => {
          writeSync(2, `worker ${process.pid} cannot listen on ${config.host ?? '*'}:${spec.port} (--${spec.flag}): ${err.message}\n`);
          process.exit(ExitCode.LISTEN);
        });
        // A lent handle is bound but not listening yet: listen(handle, backlog) sets the backlog.
        if (config.servesGroup !== undefined) listenOnLentPipe(server, target, backlog, resolve);
        else server.listen(target, backlog, resolve);
      });
    }),
  );
}

/**
 * The Config the master hands over: it built it with configSchema.parse (zod) and
 * serialised it for this fork, so the worker only checks it is one. Parsing it
 * again would load zod and the schema table into every worker: ~13 MB of RSS.
 */
function configFromMaster(json: string | undefined): Config {
  const value: unknown = JSON.parse(json ?? 'null');
  if (typeof value !== 'object' || value === null || typeof (value as Config).scriptPath !== 'string') {
    throw new Error('TSGI_EXPRESS_CONFIG is missing or malformed: workers are started by the tsgi-express master');
  }
  return Object.freeze(value as Config);
}

/**
 * Terminal signals reach the whole process group, and so does `kill -TTIN -PGID`
 * (whose default would stop the process); only the master decides what they mean.
 */
function leaveSignalsToMaster(): void {
  for (const sig of ['SIGINT', 'SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGUSR2'] as const) process.on(sig, () => {});
}

async function main(): Promise<void> {
  leaveSignalsToMaster();
  const config = configFromMaster(process.env.TSGI_EXPRESS_CONFIG);
  process.setSourceMapsEnabled(true);
  process.chdir(config.workingDirectory);
  const batcher = new LogBatcher((m, done) => send(m, done), config.logLevel, batcherOptions(config));
  // The master's acks of log batches, from the first one on: an ack lost while the app
  // loads (the table below is registered only after) would shrink the log window for good.
  process.on('message', (message: MasterMessage) => {
    if (message?.t === 'log-ack') batcher.acked(message.size);
  });
  if (!config.debugMode) captureOutput(batcher);
  if (transformCacheOff) batcher.log.debug(`tsx's transform cache is off in this worker (${transformCacheOff}): it compiles every file itself`);
  let ws: WorkerServer | undefined;
  // Installed before the app loads: its listen() serves through this worker instead.
  const capture = new ListenCapture(() => listeningAddress(config, ws), batcher.log).install();
  const debugTools = await startDebugTools(config, batcher.log);
  let loaded;
  try {
    loaded = await loadApp(config.scriptPath, [...localAppScripts(config), ...accessScripts(config)]);
  } catch (err) {
    send({ t: 'load-failed', error: formatError(err) }, () => process.exit(ExitCode.APP_LOAD));
    return;
  }
  const opts = {
    server: serverInfo(config),
    log: batcher.log,
    debugMode: config.debugMode,
    capture,
    listenWaitMs: listenWait(config),
    guard: debugTools.guard,
  };
  const appCount = localAppScripts(config).length;
  const appModules = loaded.others.slice(0, appCount);
  const accessModules = loaded.others.slice(appCount);
  let selected;
  let mounted;
  try {
    selected = await selectInterface(loaded.namespace, config, opts);
    mounted = await selectMountedApps(config, appModules, opts, serverInfo);
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    send({ t: 'load-failed', error }, () => process.exit(ExitCode.APP_LOAD));
    return;
  }
  // The worker's one table of messages from the master, registered before the server is
  // built: building it asks the master questions (the access-control state, the HTTPS
  // certificate), whose answers come through here.
  let listener: ListenerRelease | undefined;
  const inFlight = createInFlight(config, batcher.log);
  const monitoring = new Monitoring(config, batcher.log);
  const lent = new SocketLoans();
  const stats = () => workerStats(ws!.admission, inFlight, monitoring.stats());
  const answers: Answerers<WorkerQuestions, undefined> = {
    stats,
    'cpu-profile': () => debugTools.writeProfile(),
  };
  listenToMaster({
    drain: (message) => {
      debugTools.draining();
      monitoring.close();
      // The last stats go first: what this worker served stays in the server's totals.
      const exit = () =>
        send({ t: 'last-stats', stats: stats() }, () => void debugTools.finish(message.reason).then(() => batcher.flush(() => process.exit(ExitCode.OK))));
      if (!ws || !listener) return exit(); // not serving yet: nothing to finish
      const closeIdle = message.reason === 'shutdown';
      drain({ ...ws, timeoutSeconds: message.timeout, closeIdle, listener, exit });
    },
    'listener-closed-ack': () => listener?.acked(),
    'log-ack': () => {}, // taken by the listener registered with the batcher, before the app loaded
    'tls-update': (message) => ws?.tls?.update(message),
    'listen-socket': (message, handle) => {
      if (typeof handle === 'object' && handle !== null) lent.lent(message.listener, handle);
    },
    ask: (message) => answer(answers, message, undefined, (reply) => send(reply)),
    'auth-files': (message) => masterLink.deliver(message),
    phase: (message) => void (monitoring.phase.phase = message.phase),
  });
  let access;
  try {
    // Loaded only when configured: the auth code is ~20 modules a worker would keep for nothing.
    access = accessControlled(config)
      ? await (await import('./access-control.js')).buildAccessControl(config, accessModules, opts.server, batcher.log)
      : {};
  } catch (err) {
    const usage = err instanceof UsageError;
    const error = usage ? err.message : formatError(err);
    send({ t: 'load-failed', error, usage }, () => process.exit(usage ? ExitCode.USAGE : ExitCode.APP_LOAD));
    return;
  }
  try {
    ws = await createWorkerServer(config, { ...selected, apps: mounted }, batcher.log, access, inFlight, () => askMaster('tls', undefined), monitoring, await loadStaticStages(config, batcher.log));
  } catch (err) {
    // A document root, alias or --mime-types file gone since the command line checked it.
    send({ t: 'load-failed', error: formatError(err) }, () => process.exit(ExitCode.APP_LOAD));
    return;
  }
  const release = new ListenerRelease(ws.listeners.map((l) => l.server), () => send({ t: 'listener-closed' }));
  listener = release;
  const serving = ws;
  const stopAfterCrash = (exit: () => void) =>
    drain({ ...serving, timeoutSeconds: CRASH_DRAIN_MS / 1000, closeIdle: false, listener: release, exit });
  process.on('uncaughtException', (err) => reportCrash(err, () => serving.admission.running, batcher, stopAfterCrash));
  await listen(config, ws, lent);
  await monitoring.listenForMetrics().catch((err: Error) => {
    writeSync(2, `worker ${process.pid} cannot listen on --metrics-port ${config.metricsPort}: ${err.message}\n`);
    process.exit(ExitCode.LISTEN);
  });
  const inspector = debugTools.inspectorUrl();
  send({ t: 'ready', port: config.port, kind: selected.label, appKinds: mounted.map((a) => a.label), files: loaded.files, rss: process.memoryUsage.rss(), ...(inspector ? { inspector } : {}) });
  // After ready, off the start-up path: the thread is needed only once the worker serves.
  setImmediate(() => startWatchdogThread(batcher.log));
}

void main();
