/**
 * Where the logs go, from the Config: the terminal (stderr for the error log,
 * stdout for the access log) unless log files are asked for. Files live in
 * --log-directory; --rotate-logs or --startup-log without it put them in the
 * server root, mod_wsgi-express's default log directory.
 */
import cluster, { type Worker } from 'node:cluster';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import { compileErrorLogFormat, type ErrorFormatter } from '../logging/error-format.js';
import { errorJson } from '../logging/json-format.js';
import { LogDestination, type DestinationEvents } from './log-destination.js';
import { FileTarget, type Rotation } from './log-file.js';
import { TerminalTarget } from './log-terminal.js';
import { LogWriter } from './log-writer.js';

const MIB = 1024 * 1024;

export interface LogPaths {
  /** The directory of the log files, or undefined: the terminal. */
  readonly directory: string | undefined;
  readonly errorLog: string | undefined;
  readonly accessLog: string | undefined;
  readonly startupLog: string | undefined;
}

export function logPaths(config: Config): LogPaths {
  const directory = config.logDirectory ?? (config.rotateLogs || config.startupLog ? config.serverRoot : undefined);
  const file = (name: string) => (directory ? path.join(directory, name) : undefined);
  return {
    directory,
    errorLog: file(config.errorLogName),
    accessLog: config.accessLog ? file(config.accessLogName) : undefined,
    startupLog: config.startupLog ? file(config.startupLogName) : undefined,
  };
}

function rotation(config: Config): Rotation | undefined {
  if (!config.rotateLogs) return undefined;
  return {
    maxBytes: Math.max(1, Math.round(config.maxLogSize * MIB)),
    interval: config.rotateInterval,
    maxFiles: config.maxLogFiles,
    compress: config.compressRotatedLogs,
  };
}

export function errorFormatter(config: Config): ErrorFormatter {
  return config.logFormat === 'json' ? errorJson : compileErrorLogFormat(config.errorLogFormat);
}

export function createLogWriter(config: Config): LogWriter {
  const paths = logPaths(config);
  if (paths.directory) mkdirSync(paths.directory, { recursive: true });
  let writer: LogWriter;
  const fileEvents = {
    rotated: (t: FileTarget, to: string) => writer.rotated(t.name, to),
    warning: (t: FileTarget, err: Error) => writer.warning(t.name, err),
  };
  writer = new LogWriter({
    threshold: config.logLevel,
    format: errorFormatter(config),
    destinations: (events: DestinationEvents) => {
      const stdout = new LogDestination(new TerminalTarget('/dev/stdout', process.stdout), events);
      const stderr = new LogDestination(new TerminalTarget('/dev/stderr', process.stderr), events);
      const file = (name: string, rotate: Rotation | undefined) => new LogDestination(new FileTarget(name, rotate, fileEvents), events);
      return {
        stdout,
        stderr,
        errorLog: paths.errorLog ? file(paths.errorLog, rotation(config)) : stderr,
        accessLog: paths.accessLog ? file(paths.accessLog, rotation(config)) : stdout,
        // The startup log is short and not rotated (httpd -E).
        startupLog: paths.startupLog ? file(paths.startupLog, undefined) : undefined,
      };
    },
  });
  if (paths.startupLog) traceWorkerStarts(writer);
  return writer;
}

/** The startup log's lines for the first workers: forked, then running (loading the app). */
function traceWorkerStarts(writer: LogWriter): void {
  const forked = (w: Worker) => writer.startup(`worker ${w.process.pid} forked`);
  const online = (w: Worker) => writer.startup(`worker ${w.process.pid} running: loading the application`);
  cluster.on('fork', forked);
  cluster.on('online', online);
  writer.onStartupFinished(() => {
    cluster.off('fork', forked);
    cluster.off('online', online);
  });
}

/**
 * A start-up failure before the logs are open (the port cannot be bound): appended
 * to the startup log directly, since the master is about to exit.
 */
export function appendStartupFailure(config: Config, text: string): void {
  const file = logPaths(config).startupLog;
  if (!file) return;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    appendFileSync(file, errorFormatter(config)([Date.now(), 'error', '', text.trimEnd()], process.pid));
  } catch {
    // the failure is on stderr all the same
  }
}

/** The banner's rows for the logs. */
export function logBannerRows(config: Config): [string, string][] {
  const paths = logPaths(config);
  const format = config.logFormat === 'json' ? 'json' : config.accessLogFormat;
  const rows: [string, string][] = [
    ['Error Log', `${paths.errorLog ?? '/dev/stderr'} (${config.logLevel}${config.logFormat === 'json' ? ', json' : ''})`],
    ['Access Log', config.accessLog ? `${paths.accessLog ?? '/dev/stdout'} (${format})` : 'off'],
  ];
  if (paths.startupLog) rows.push(['Startup Log', paths.startupLog]);
  const r = rotation(config);
  if (r) {
    const parts = [`at ${config.maxLogSize} MiB`];
    if (r.interval) parts.push(`every ${r.interval}`);
    parts.push(r.maxFiles ? `${r.maxFiles} kept` : 'all kept');
    if (r.compress) parts.push('gzip');
    rows.push(['Log Rotation', parts.join(', ')]);
  }
  return rows;
}
