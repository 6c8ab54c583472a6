/**
 * One worker process as the master sees it: its state (starting, ready,
 * draining), when it started, its last heartbeat answer, and a promise for its
 * readiness. Its IPC messages go to the one handler table it was given
 * (worker-messages.ts); the pool policy lives in supervisor.ts.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config/schema.js';
import { ExitCode } from '../errors.js';
import {
  isWorkerMessage,
  type LoadFailedMessage,
  type MasterMessage,
  type ReadyMessage,
  type RecycleReason,
  type ServerPhase,
  type WorkerMessage,
  type WorkerQuestions,
  type WorkerStats,
} from '../ipc/messages.js';
import { Asker, type AnswerOf, type AskOf } from '../ipc/rpc.js';
import { WATCHDOG_FD, WATCHDOG_FD_ENV } from '../ipc/watchdog-channel.js';
import type { ListeningSockets } from './listening-socket.js';
import type { LogWriter } from './log-writer.js';
import { stackWatchdog } from './stuck-worker.js';

export type WorkerState = 'starting' | 'ready' | 'draining';

/** Why a worker never became ready: the app's error, how it died, or that it could not listen. */
export class StartFailure extends Error {
  constructor(
    message: string,
    readonly cannotListen = false,
    /** A bad option only loading could find (an --auth-user-script without its export): exit 2. */
    readonly usage = false,
  ) {
    super(message);
    this.name = 'StartFailure';
  }
}

/** Routes one message from `from` to its handler (worker-messages.ts). */
export type WorkerMessageSink = (from: WorkerHandle, message: WorkerMessage, handle: unknown) => void;

const STDERR_TAIL = 8192;

export class WorkerHandle {
  state: WorkerState = 'starting';
  readonly startedAt = performance.now();
  readyAt = 0;
  /** The worker said it stopped taking connections (draining or crashing). */
  listenerClosed = false;
  /** The master let it go on purpose (stop, reload, recycle, scale-down): its end is no crash. */
  retired = false;
  /** A recycle trigger fired: it waits for its turn (one worker recycles at a time). */
  recycleDue: { readonly reason: RecycleReason; readonly detail: string } | undefined;
  /** Set while its replacement is being started. */
  recycling: RecycleReason | undefined;
  /** Set when it was started to replace a recycled worker (the status page's last recycle reason). */
  replaced: { readonly pid: number; readonly reason: RecycleReason } | undefined;
  /** Its last answer to the heartbeat, and when it came (performance.now()). */
  stats: WorkerStats | undefined;
  lastHeard = 0;
  heartbeatPending = false;
  readonly ready: Promise<ReadyMessage>;
  readonly exited: Promise<void>;
  /**
   * Everything the worker wrote has been read: its pipes and IPC channel have
   * closed (or a second has passed since it exited, should a child of its own
   * hold them). Its death is logged after this, so its last lines come first.
   */
  readonly outputRead: Promise<void>;
  private readonly asker: Asker<WorkerQuestions>;
  private settleReady!: { resolve(m: ReadyMessage): void; reject(err: StartFailure): void };
  private stderrTail = '';

  constructor(
    readonly worker: Worker,
    readonly generation: number,
    config: Config,
    logs: LogWriter,
    sink: WorkerMessageSink,
  ) {
    this.asker = new Asker((m) => this.send(m));
    this.pipeOutput(logs);
    this.reportSendErrors(logs);
    // One listener for every message, registered once: the table decides.
    worker.on('message', (message: unknown, handle: unknown) => {
      if (isWorkerMessage(message)) sink(this, message, handle);
    });
    this.ready = this.awaitReady(config);
    this.ready.catch(() => {}); // observed by the supervisor; never an unhandled rejection
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.once('exit', () => this.asker.failAll(`worker ${this.pid} exited`));
    const closed = new Promise<void>((resolve) => worker.process.once('close', () => resolve()));
    const disconnected = new Promise<void>((resolve) => (worker.isConnected() ? worker.once('disconnect', () => resolve()) : resolve()));
    const late = this.exited.then(() => new Promise<void>((resolve) => setTimeout(resolve, 1000).unref()));
    this.outputRead = Promise.race([Promise.all([closed, disconnected]).then(() => {}), late]);
  }

  get pid(): number {
    return this.worker.process.pid ?? 0;
  }

  /** Listening and in the rotation: node:cluster may hand it connections. */
  get serving(): boolean {
    return this.state === 'ready' && !this.listenerClosed && this.worker.isConnected();
  }

  /** Whether the message could be handed to the channel (false once the worker is gone). */
  send(message: MasterMessage): boolean {
    if (!this.worker.isConnected()) return false;
    this.worker.send(message);
    return true;
  }

  /** A correlated question; rejects after `timeoutMs` (0: only when the worker goes). */
  ask<Q extends keyof WorkerQuestions & string>(
    q: Q,
    body: AskOf<WorkerQuestions, Q>,
    timeoutMs: number,
  ): Promise<AnswerOf<WorkerQuestions, Q>> {
    return this.asker.ask(q, body, timeoutMs);
  }

  /** The table's entry for `answer` messages. */
  settle(message: Parameters<Asker<WorkerQuestions>['settle']>[0]): void {
    this.asker.settle(message);
  }

  /** The table's entries for `ready` and `load-failed`. */
  readyMessage(message: ReadyMessage): void {
    this.settleReady.resolve(message);
  }

  loadFailed(message: LoadFailedMessage): void {
    this.settleReady.reject(new StartFailure(message.error, false, message.usage === true));
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.worker.process.exitCode === null && this.worker.process.signalCode === null) {
      this.worker.process.kill(signal);
    }
  }

  /** Seconds since it was forked. */
  get age(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  /** What the worker was doing, for crash reports. */
  describe(): string {
    const seconds = this.age.toFixed(1);
    if (this.state === 'starting') return `while starting (loading the app for ${seconds}s)`;
    if (this.state === 'draining') return 'while draining';
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
      const pid = this.pid;
      stream.on('data', (text: string) => {
        if (name === 'stderr') this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL);
        logs.workerOutput(pid, name, text);
      });
      stream.on('end', () => logs.workerOutputEnd(pid, name));
    }
  }

  private awaitReady(config: Config): Promise<ReadyMessage> {
    return new Promise((resolve, reject) => {
      // --startup-timeout 0 waits for ever, as in mod_wsgi-express.
      const timer =
        config.startupTimeout > 0
          ? setTimeout(() => {
              reject(new StartFailure(`worker ${this.pid} did not become ready within --startup-timeout ${config.startupTimeout}s`));
              this.kill();
            }, config.startupTimeout * 1000)
          : undefined;
      this.settleReady = {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.worker.once('exit', (code, signal) => {
        const how = signal ? `signal ${signal}` : `exit code ${code}`;
        const tail = this.stderrTail.trim();
        const text = `worker ${this.pid} exited (${how}) before it was ready${tail ? `:\n${tail}` : ''}`;
        this.settleReady.reject(new StartFailure(text, code === ExitCode.LISTEN));
      });
    });
  }
}

/** Who a worker runs as: HOME, USER and LOGNAME, and the ids when the master switches them (started as root). */
export interface WorkerAccount {
  readonly env: Readonly<Record<string, string>>;
  readonly uid?: number;
  readonly gid?: number;
}

/** With `socket`, the worker borrows the master's listening socket instead of binding through node:cluster. */
export function forkWorker(
  config: Config,
  socket: ListeningSockets | undefined,
  phase: ServerPhase,
  account: WorkerAccount = { env: {} },
): Worker {
  const env: Record<string, string> = { ...account.env, TSGI_EXPRESS_CONFIG: JSON.stringify(config), TSGI_EXPRESS_PHASE: phase };
  if (socket) env.TSGI_EXPRESS_SOCKET = 'borrow';
  if (stackWatchdog(config)) env[WATCHDOG_FD_ENV] = String(WATCHDOG_FD);
  const settings = cluster.settings;
  if (account.uid === undefined || (account.uid === settings.uid && account.gid === settings.gid)) return cluster.fork(env);
  // A process group with an account of its own: node:cluster forks with its settings' ids,
  // read synchronously by fork(), so they are this worker's for that one call.
  const writable = cluster as { settings: typeof settings };
  writable.settings = { ...settings, uid: account.uid, gid: account.gid };
  try {
    return cluster.fork(env);
  } finally {
    writable.settings = settings;
  }
}
