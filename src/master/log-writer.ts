/**
 * The one writer of log output. Workers send batches of records (ipc/messages.ts);
 * the master formats them and queues each batch on its destination as one piece,
 * so lines from different workers never interleave and each worker's lines stay
 * in the order it wrote them. Destinations (log-destination.ts) are the terminal
 * (stderr, stdout) or files (log-file.ts); log-setup.ts builds them from the Config.
 *
 * Each worker batch is acked (log-ack) once its lines are written, which bounds
 * what the master holds for a worker to that worker's window. Anything that goes
 * wrong with a destination is said where something can still be written: a
 * terminal whose reader has gone, a full disk, lines dropped and how many.
 */
import type { ErrorRecord, LogMessage } from '../ipc/messages.js';
import type { ErrorFormatter } from '../logging/error-format.js';
import { levelEnabled, type Level } from '../logging/levels.js';
import { makeLog, type Log } from '../logging/log.js';
import { countLines, LogDestination, QUEUE_LIMIT, type DestinationEvents } from './log-destination.js';

/** A partial line of a worker's raw stdout/stderr waits for its end up to this many characters. */
const MAX_PARTIAL = 64 * 1024;

export interface LogWriterSetup {
  readonly threshold: Level;
  readonly format: ErrorFormatter;
  /** Builds the destinations, given the events they report through (this writer). */
  readonly destinations: (events: DestinationEvents) => {
    readonly stdout: LogDestination;
    readonly stderr: LogDestination;
    readonly errorLog: LogDestination;
    readonly accessLog: LogDestination;
    readonly startupLog?: LogDestination;
  };
}

const describeError = (err: Error) => {
  const code = (err as NodeJS.ErrnoException).code;
  return code && !err.message.startsWith(code) ? `${code}: ${err.message}` : err.message;
};

export class LogWriter implements DestinationEvents {
  /** The master's own log. */
  readonly log: Log;
  private readonly stdoutDest: LogDestination;
  private readonly stderrDest: LogDestination;
  private readonly errorLog: LogDestination;
  private readonly accessLog: LogDestination;
  private startupLog: LogDestination | undefined;
  private readonly format: ErrorFormatter;
  private readonly partials = new Map<string, string>();
  private readonly startupHooks: (() => void)[] = [];

  constructor(setup: LogWriterSetup) {
    this.format = setup.format;
    const d = setup.destinations(this);
    this.stdoutDest = d.stdout;
    this.stderrDest = d.stderr;
    this.errorLog = d.errorLog;
    this.accessLog = d.accessLog;
    this.startupLog = d.startupLog;
    this.log = makeLog(
      (level, text, rid) => {
        if (levelEnabled(level, setup.threshold)) this.errorRecord([Date.now(), level, rid ?? '', text], process.pid);
      },
      (line) => this.accessLog.write(line, countLines(line)),
    );
  }

  /** A batch from a worker (already filtered by level there); `ack` once it is written. */
  fromWorker(pid: number, message: LogMessage, ack: () => void): void {
    if (message.dropped) {
      const [errors, access] = message.dropped;
      this.errorRecord([Date.now(), 'warn', '', `worker ${pid} dropped ${errors + access} log lines (${errors} error log, ${access} access log): they came faster than the log was written (more than 1 MiB waiting)`], pid);
    }
    let parts = (message.errors.length > 0 ? 1 : 0) + (message.access ? 1 : 0);
    if (parts === 0) return ack();
    const done = () => {
      if (--parts === 0) ack();
    };
    if (message.errors.length > 0) {
      let text = '';
      for (const record of message.errors) text += this.format(record, pid);
      this.errorText(text, done);
    }
    if (message.access) this.accessLog.write(message.access, countLines(message.access), done);
  }

  /** Raw output a worker wrote straight to its stdout/stderr pipes (crash reports, native code), line by line. */
  workerOutput(pid: number, stream: 'stdout' | 'stderr', text: string): void {
    const key = `${pid}:${stream}`;
    const all = (this.partials.get(key) ?? '') + text;
    const end = all.lastIndexOf('\n');
    const rest = end < 0 ? all : all.slice(end + 1);
    if (end >= 0) this.errorRecord([Date.now(), stream, '', all.slice(0, end)], pid);
    if (rest.length > MAX_PARTIAL) {
      this.errorRecord([Date.now(), stream, '', rest], pid);
      this.partials.delete(key);
    } else if (rest) this.partials.set(key, rest);
    else this.partials.delete(key);
  }

  /** The worker's pipe closed: a last line without its newline is written as it is. */
  workerOutputEnd(pid: number, stream: 'stdout' | 'stderr'): void {
    const key = `${pid}:${stream}`;
    const rest = this.partials.get(key);
    this.partials.delete(key);
    if (rest) this.errorRecord([Date.now(), stream, '', rest], pid);
  }

  /** The banner and the Ready line: the terminal's stdout, whatever the logs are. */
  stdout(text: string): void {
    this.stdoutDest.write(text, countLines(text));
  }

  /** A start-up failure: said on stderr as it always was, and in the startup log. */
  startupFailure(text: string): void {
    this.stderrDest.write(text, countLines(text));
    if (this.errorLog !== this.stderrDest) this.errorRecord([Date.now(), 'error', '', text.trimEnd()], process.pid);
    else this.startupLog?.write(this.format([Date.now(), 'error', '', text.trimEnd()], process.pid), 1);
  }

  /** A start-up step (config, port, workers): written to the startup log only. */
  startup(text: string): void {
    this.startupLog?.write(this.format([Date.now(), 'info', '', text], process.pid), 1);
  }

  /** The server is ready: the startup log is complete and closed. */
  startupFinished(): void {
    const startupLog = this.startupLog;
    this.startupLog = undefined;
    for (const hook of this.startupHooks.splice(0)) hook();
    void startupLog?.close(2000);
  }

  /** Runs `hook` once start-up is over. */
  onStartupFinished(hook: () => void): void {
    this.startupHooks.push(hook);
  }

  /** SIGUSR1: every log file is closed and opened again by name, losing nothing. */
  reopen(): void {
    for (const dest of this.files()) dest.reopen();
  }

  /**
   * Writes what is queued and closes the files, for at most `ms`, then the
   * terminal, for at most half that. Lines a file could not take in time, and
   * those a failed terminal dropped, are counted on what can still be written.
   */
  async close(ms: number): Promise<void> {
    const files = [...this.files()];
    const lost = await Promise.all(files.map((dest) => dest.close(ms)));
    files.forEach((dest, i) => {
      if (lost[i]! > 0) this.notice(`${lost[i]} log lines for ${dest.name} could not be written before exit`, dest);
    });
    for (const dest of [this.stdoutDest, this.stderrDest]) {
      if (dest.isDead && dest.droppedTotal > 0) {
        this.notice(`${dest.droppedTotal} log lines for ${dest.name} were dropped after it failed`, dest);
      }
    }
    await Promise.all([this.stdoutDest.close(ms / 2), this.stderrDest.close(ms / 2)]);
  }

  onFailed(dest: LogDestination, err: Error): void {
    if (!dest.target.retries) {
      this.notice(`${dest.name} failed (${describeError(err)}): its reader has gone or it was closed; its lines are dropped from now on and counted`, dest);
    } else {
      this.notice(`cannot write ${dest.name} (${describeError(err)}); the server keeps serving, its log lines wait in memory (up to ${QUEUE_LIMIT / 1024 / 1024} MiB), then are dropped and counted, until writing works again`, dest);
    }
  }

  onResumed(dest: LogDestination, dropped: number, outage: Error | undefined): void {
    const what = outage ? `writing ${dest.name} again after it failed (${describeError(outage)})` : `${dest.name} could not keep up`;
    const text = `${what}: ${dropped} log line${dropped === 1 ? ' was' : 's were'} dropped${outage ? ' meanwhile' : ` (more than ${QUEUE_LIMIT / 1024 / 1024} MiB waiting)`}`;
    const line = this.format([Date.now(), 'warn', '', text], process.pid);
    // The count goes into the error log: into the destination itself when it is the error log,
    // never into the access log, whose every line is a request.
    if (dest === this.errorLog) dest.writeNotice(line);
    else this.errorLog.write(line, 1);
    if (outage && this.errorLog !== this.stderrDest && !this.stderrDest.isDead) this.stderrDest.write(`tsgi-express: ${text}\n`, 1);
  }

  /** Rotation of a log file, for the error log. */
  rotated(name: string, to: string): void {
    this.log.info(`${name} rotated: the full file is now ${to}`);
  }

  warning(name: string, err: Error): void {
    this.log.warn(`${name}: ${describeError(err)}`);
  }

  private *files(): Iterable<LogDestination> {
    const seen = new Set<LogDestination>();
    for (const dest of [this.errorLog, this.accessLog, this.startupLog]) {
      if (dest && dest.target.retries && !seen.has(dest)) {
        seen.add(dest);
        yield dest;
      }
    }
  }

  private errorRecord(record: ErrorRecord, pid: number): void {
    this.errorText(this.format(record, pid));
  }

  private errorText(text: string, done?: () => void): void {
    const lines = countLines(text);
    this.errorLog.write(text, lines, done);
    this.startupLog?.write(text, lines);
  }

  /**
   * Says something about the logs themselves where it can still be read: the
   * error log (unless that is what failed), and stderr as a plain line when the
   * error log is a file, else stdout when stderr is what failed.
   */
  private notice(text: string, failed: LogDestination): void {
    const record = this.format([Date.now(), 'warn', '', text], process.pid);
    if (this.errorLog !== failed && !this.errorLog.isDead) this.errorLog.writeNotice(record);
    if (this.errorLog === this.stderrDest && this.errorLog !== failed && !this.errorLog.isDead) return;
    const terminal = this.stderrDest !== failed && !this.stderrDest.isDead ? this.stderrDest : this.stdoutDest;
    if (terminal !== failed && !terminal.isDead) terminal.writeNotice(`tsgi-express: ${text}\n`);
  }
}
