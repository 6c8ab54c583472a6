/**
 * One worker process as the master sees it: its state (starting, ready,
 * draining), when it started, and a promise for its readiness. Forking and the
 * readiness contract live here; the pool policy lives in supervisor.ts.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config/schema.js';
import { ExitCode } from '../errors.js';
import { isWorkerMessage, type MasterMessage, type ReadyMessage } from '../ipc/messages.js';
import type { ListeningSocket } from './listening-socket.js';
import type { LogWriter } from './log-writer.js';

export type WorkerState = 'starting' | 'ready' | 'draining';

/** Why a worker never became ready: the app's error, how it died, or that it could not listen. */
export class StartFailure extends Error {
  constructor(
    message: string,
    readonly cannotListen = false,
  ) {
    super(message);
    this.name = 'StartFailure';
  }
}

const STDERR_TAIL = 8192;

export class WorkerHandle {
  state: WorkerState = 'starting';
  readonly startedAt = performance.now();
  readyAt = 0;
  /** The worker said it stopped taking connections (draining or crashing). */
  listenerClosed = false;
  readonly ready: Promise<ReadyMessage>;
  readonly exited: Promise<void>;
  private stderrTail = '';

  constructor(
    readonly worker: Worker,
    readonly generation: number,
    config: Config,
    logs: LogWriter,
    private readonly socket?: ListeningSocket,
  ) {
    this.pipeOutput(logs);
    this.reportSendErrors(logs);
    this.ready = this.awaitReady(config, logs);
    this.ready.catch(() => {}); // observed by the supervisor; never an unhandled rejection
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
  }

  get pid(): number {
    return this.worker.process.pid ?? 0;
  }

  /** Listening and in the rotation: node:cluster may hand it connections. */
  get serving(): boolean {
    return this.state === 'ready' && !this.listenerClosed && this.worker.isConnected();
  }

  send(message: MasterMessage): void {
    if (this.worker.isConnected()) this.worker.send(message);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.worker.process.exitCode === null && this.worker.process.signalCode === null) {
      this.worker.process.kill(signal);
    }
  }

  /** What the worker was doing, for crash reports. */
  describe(): string {
    const seconds = ((performance.now() - this.startedAt) / 1000).toFixed(1);
    if (this.state === 'starting') return `while starting (loading the app for ${seconds}s)`;
    if (this.state === 'draining') return 'while draining for a reload or stop';
    return `while serving requests (up ${seconds}s)`;
  }

  /**
   * A message sent to a worker that has just died, before the master has seen its
   * channel close, fails with EPIPE: ours (drain, acks, the listening socket) and
   * node:cluster's own hand-offs alike. Node reports that as an 'error' event on the
   * Worker, which with no listener would crash the master and take every worker
   * down with it. The worker's exit is handled and logged where it always is.
   */
  private reportSendErrors(logs: LogWriter): void {
    this.worker.on('error', (err: NodeJS.ErrnoException) => {
      const expected = err.code === 'EPIPE' || err.code === 'ERR_IPC_CHANNEL_CLOSED';
      const text = `message to worker ${this.pid} not delivered: ${err.message}`;
      if (expected) logs.log.debug(`${text} (it is exiting)`);
      else logs.log.warn(text);
    });
  }

  private pipeOutput(logs: LogWriter): void {
    for (const name of ['stdout', 'stderr'] as const) {
      const stream = this.worker.process[name];
      if (!stream) continue;
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => {
        if (name === 'stderr') this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL);
        logs.workerOutput(this.pid, name, text);
      });
    }
  }

  private awaitReady(config: Config, logs: LogWriter): Promise<ReadyMessage> {
    return new Promise((resolve, reject) => {
      // --startup-timeout 0 waits for ever, as in mod_wsgi-express.
      const timer =
        config.startupTimeout > 0
          ? setTimeout(() => {
              reject(new StartFailure(`worker ${this.pid} did not become ready within --startup-timeout ${config.startupTimeout}s`));
              this.kill();
            }, config.startupTimeout * 1000)
          : undefined;
      this.worker.on('message', (message: unknown) => {
        if (!isWorkerMessage(message)) return;
        if (message.t === 'log') logs.fromWorker(this.pid, message);
        else if (message.t === 'borrow-socket') this.socket?.lendTo(this.worker);
        else if (message.t === 'listener-closed') {
          this.listenerClosed = true;
          this.send({ t: 'listener-closed-ack' });
        } else if (message.t === 'ready') {
          clearTimeout(timer);
          resolve(message);
        } else if (message.t === 'load-failed') {
          clearTimeout(timer);
          reject(new StartFailure(message.error));
        }
      });
      this.worker.once('exit', (code, signal) => {
        clearTimeout(timer);
        const how = signal ? `signal ${signal}` : `exit code ${code}`;
        const tail = this.stderrTail.trim();
        const text = `worker ${this.pid} exited (${how}) before it was ready${tail ? `:\n${tail}` : ''}`;
        reject(new StartFailure(text, code === ExitCode.LISTEN));
      });
    });
  }
}

/** With `socket`, the worker borrows the master's listening socket instead of binding through node:cluster. */
export function forkWorker(config: Config, socket: ListeningSocket | undefined): Worker {
  const env: Record<string, string> = { TSGI_EXPRESS_CONFIG: JSON.stringify(config) };
  if (socket) env.TSGI_EXPRESS_SOCKET = 'borrow';
  return cluster.fork(env);
}
