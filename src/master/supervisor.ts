/**
 * The worker pool and its verbs: start, reload (a whole new generation),
 * recycle (one worker, rolling), topUp (back to the target count), scaleUp and
 * scaleDown (SIGTTIN, SIGTTOU), heartbeat, stop, kill, and reap (a worker
 * exited). The arbiter calls them from its event loop; none of them waits for
 * a worker: what follows from a worker's readiness or exit comes back as a
 * promise settling or an event.
 *
 * Rolling, always: a new generation (reload) or a replacement (recycle) is
 * ready before the workers it replaces are told to drain, and if it cannot
 * load, the old ones keep serving. A worker that was serving and died is
 * replaced at once; only workers that fail to start back off.
 */
import type { Worker } from 'node:cluster';
import type { Config } from '../config/schema.js';
import { finishAllowanceMs } from '../config/debug-paths.js';
import type { GroupPoolReport, MasterMessage, PoolReport, ReadyMessage, RecycleReason, ServerPhase, WorkerStats } from '../ipc/messages.js';
import type { ListeningSockets } from './listening-socket.js';
import type { LogWriter } from './log-writer.js';
import { makeLog, type Log } from '../logging/log.js';
import { reclaimHandoffs } from './handoff-reclaim.js';
import { PoolTotals } from './pool-totals.js';
import { stackWatchdog, stuckStack, watchdogEnabled } from './stuck-worker.js';
import { forkWorker, WorkerHandle, type WorkerAccount, type WorkerMessageSink } from './worker-handle.js';
import { dispatchTo, workerMessageHandlers, type MasterAnswers } from './worker-messages.js';

/** Back-off for workers that fail to start: 0.5 s, 1 s, 2 s ... at most 30 s; reset by one that starts. */
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;
/** How long a stuck worker's watchdog thread gets to say where it is stuck. */
const STACK_TIMEOUT_MS = 3000;

export const RECYCLE_REASONS: readonly RecycleReason[] = [
  'maximum_requests',
  'restart_interval',
  'inactivity_timeout',
  'cpu_time_limit',
  'memory_limit',
];

function prefixedLog(log: Log, prefix: string): Log {
  return makeLog((level, message, rid) => log.write(level, prefix + message, rid), (line) => log.access(line));
}

export interface PoolHooks {
  /** A worker exited; the arbiter queues it and hands it back to reap(). */
  exited(handle: WorkerHandle, code: number | null, signal: string | null): void;
  /** Workers became ready: the files they loaded (what --reload-on-changes watches). */
  loaded(messages: readonly ReadyMessage[]): void;
}

interface Counters {
  recycles: Record<RecycleReason, number>;
  restarts: Record<'crashed' | 'deadlock_timeout', number>;
  startFailures: number;
}

export class Supervisor {
  private readonly handles = new Map<Worker, WorkerHandle>();
  private readonly sink: WorkerMessageSink;
  private readonly startedAt = performance.now();
  private generation = 0;
  /** How many workers to keep: --processes, changed by SIGTTIN/SIGTTOU. */
  private target: number;
  private stopping = false;
  private reloading = false;
  /** Failed starts in a row, and no start before retryAt (performance.now()). */
  private bootFailures = 0;
  private retryAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** The worker being recycled now: one at a time, so capacity stays. */
  private recyclingNow: WorkerHandle | undefined;
  /** --memory-limit in bytes; 0 when off, or found below a worker's start-up size. */
  private memoryLimit: number;
  /** The server's phase, as --health-check-path answers it; workers forked later get it in their environment. */
  private phase: ServerPhase = 'starting';
  /** What workers counted, living and gone (status page, metrics). */
  private readonly totals = new PoolTotals(this.startedAt);
  readonly counters: Counters = {
    recycles: Object.fromEntries(RECYCLE_REASONS.map((r) => [r, 0])) as Record<RecycleReason, number>,
    restarts: { crashed: 0, deadlock_timeout: 0 },
    startFailures: 0,
  };

  constructor(
    private readonly config: Config,
    private readonly logs: LogWriter,
    private readonly hooks: PoolHooks,
    answers: MasterAnswers,
    /** The listening socket the master owns and lends to each worker, when it owns one. */
    private readonly socket?: ListeningSockets,
    /** Who its workers run as: HOME, USER, LOGNAME and the ids with --user, or a process group's own account. */
    private readonly account: WorkerAccount = { env: {} },
    /** A process group's pool (config/groups.ts): its name starts each of its log lines. */
    readonly group?: string,
  ) {
    this.target = config.processes;
    this.memoryLimit = config.memoryLimit * 1024 * 1024;
    const recycle = (from: WorkerHandle, reason: RecycleReason, detail: string) => this.recycle(from, reason, detail);
    const lastStats = (from: WorkerHandle, stats: WorkerStats) => this.lastStats(from, stats);
    this.sink = dispatchTo(workerMessageHandlers({ logs, socket, answers, recycle, lastStats }));
  }

  private get log(): Log {
    return this.group === undefined ? this.logs.log : (this.groupLog ??= prefixedLog(this.logs.log, `process group ${this.group}: `));
  }

  private groupLog: Log | undefined;

  get capacity(): { processes: number; threads: number } {
    return { processes: this.target, threads: this.config.threads };
  }

  /** Starts the first generation; rejects with the app's error if it cannot load. */
  async start(): Promise<readonly ReadyMessage[]> {
    this.generation = 1;
    const fresh = this.spawnMany(this.target, this.generation);
    try {
      const messages = await Promise.all(fresh.map((h) => h.ready));
      this.markReady(fresh, messages);
      return messages;
    } catch (err) {
      await this.killAll(fresh);
      throw err;
    }
  }

  /** Rolling reload. Resolves true when the new code serves, false when the old one stays. */
  async reload(reason: string): Promise<boolean> {
    if (this.stopping) return false;
    this.reloading = true;
    const next = this.generation + 1;
    this.log.info(`Reloading (${reason}): starting ${this.target} new worker(s)`);
    const fresh: WorkerHandle[] = [];
    try {
      const messages = await this.startGeneration(next, fresh);
      if (this.stopping) return false;
      const old = [...this.handles.values()].filter((h) => !fresh.includes(h) && !h.retired);
      this.generation = next;
      this.markReady(fresh, messages);
      for (const h of old) this.retire(h, 'reload');
      this.log.info(`Reload complete: ${fresh.length} new worker(s) serving, ${old.length} draining`);
      return true;
    } catch (err) {
      await this.killAll(fresh);
      if (this.stopping) return false;
      const text = err instanceof Error ? err.message : String(err);
      this.log.error(`Reload failed; the previous code keeps serving. The application could not load:\n${text}`);
      return false;
    } finally {
      this.reloading = false;
      if (!this.stopping) this.topUp();
    }
  }

  /**
   * Starts a reload's workers, one first and then the rest: the first transforms the
   * changed files into tsx's cache, where the others find them, so they run no esbuild
   * (a quarter of a worker's start-up CPU on Node 24), and on a small machine the old
   * workers keep more of the CPU meanwhile (bench/NOTES.md, "reload"). `fresh` gets each
   * handle as it is forked, so a failure can kill whichever have started.
   */
  private async startGeneration(generation: number, fresh: WorkerHandle[]): Promise<ReadyMessage[]> {
    const first = this.spawn(generation);
    fresh.push(first);
    const ready = await first.ready;
    if (this.stopping) return [ready];
    const rest = this.spawnMany(this.target - 1, generation);
    fresh.push(...rest);
    return [ready, ...(await Promise.all(rest.map((h) => h.ready)))];
  }

  /** Sends a message to every worker (starting, serving or draining). */
  broadcast(message: MasterMessage): void {
    for (const h of this.handles.values()) h.send(message);
  }

  /** Graceful stop: in-flight requests get `timeout` seconds, then workers are killed. */
  async stop(timeout: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    const all = [...this.handles.values()];
    for (const h of all) this.retire(h, 'shutdown', timeout);
    const deadline = setTimeout(() => all.forEach((h) => h.kill()), timeout * 1000 + 500 + finishAllowanceMs(this.config));
    await Promise.all(all.map((h) => h.exited));
    clearTimeout(deadline);
  }

  /** Immediate stop (second SIGINT). */
  async kill(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    await this.killAll([...this.handles.values()]);
  }

  /** A worker exited (queued by the arbiter). */
  reap(h: WorkerHandle, code: number | null, signal: string | null): void {
    if (this.handles.delete(h.worker)) this.totals.fold(h.stats);
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (this.stopping || h.retired) {
      this.log.debug(`worker ${h.pid} retired (${how})`);
      return;
    }
    // Not yet ready: its readiness rejects, and whoever started it decides.
    if (h.state === 'starting') return;
    this.counters.restarts.crashed++;
    const delay = this.topUp();
    const when = delay > 0 ? `in ${(delay / 1000).toFixed(1)} s (new workers have been failing to start)` : 'now';
    const what = h.describe();
    // After its last output, which may still be on its way through the pipes.
    void h.outputRead.then(() => this.log.error(`worker ${h.pid} died (${how}) ${what}; starting a replacement ${when}`));
  }

  /**
   * Brings the current generation back to the target count. Returns 0 when the
   * missing workers were started (or none were missing), else the ms until the
   * back-off allows the next start.
   */
  topUp(): number {
    if (this.stopping || this.reloading) return 0;
    const missing = this.target - this.counted().length;
    if (missing <= 0) return 0;
    const wait = this.retryAt - performance.now();
    if (wait > 0) {
      this.retryTimer ??= setTimeout(() => {
        this.retryTimer = undefined;
        this.topUp();
      }, wait);
      return wait;
    }
    for (let i = 0; i < missing; i++) this.startReplacement();
    return 0;
  }

  /** SIGTTIN: one worker more. */
  scaleUp(): void {
    this.target++;
    this.topUp();
  }

  /**
   * SIGTTOU: one worker fewer, drained gracefully. False when already at one;
   * else the pid of the worker retired (none when one was missing anyway).
   */
  scaleDown(): false | { pid?: number } {
    if (this.target <= 1) return false;
    this.target--;
    const candidates = this.counted();
    if (candidates.length <= this.target) return {};
    // A starting one first (it serves no one yet), else the oldest.
    const h = candidates.find((c) => c.state === 'starting') ?? candidates.sort((a, b) => a.startedAt - b.startedAt)[0]!;
    this.retire(h, 'recycle');
    return { pid: h.pid };
  }

  /**
   * Marks `h` for a rolling recycle: a replacement is started, and once it is
   * ready `h` drains. One worker at a time; the others wait their turn (tick).
   */
  recycle(h: WorkerHandle, reason: RecycleReason, detail: string): void {
    if (h.retired || h.recycleDue) return;
    h.recycleDue = { reason, detail };
    this.recycleNext();
  }

  /** Starts the next recycle that is due, unless one is running or the pool is busy. */
  recycleNext(): void {
    if (this.stopping || this.reloading || this.recyclingNow || performance.now() < this.retryAt) return;
    const h = [...this.handles.values()].find((c) => c.recycleDue && c.state === 'ready' && !c.retired);
    if (!h) return;
    const { reason, detail } = h.recycleDue!;
    h.recycling = reason;
    this.recyclingNow = h;
    this.log.info(`Recycling worker ${h.pid} (${reason}: ${detail}): starting its replacement`);
    this.startReplacement(h);
  }

  /** Asks every ready worker for its stats (the heartbeat); answers are kept on the handles. */
  heartbeat(): void {
    this.totals.sample(this.totals.totals(this.livingStats()).requests);
    for (const h of this.handles.values()) {
      if (h.state !== 'ready' || h.heartbeatPending) continue;
      h.heartbeatPending = true;
      h.ask('stats', undefined, 0).then(
        (stats) => {
          h.stats = stats;
          h.lastHeard = performance.now();
          h.heartbeatPending = false;
          this.checkLimits(h, stats);
        },
        () => (h.heartbeatPending = false),
      );
    }
  }

  /**
   * A worker reports its size once it has loaded the app: a --memory-limit below
   * it would recycle every worker as soon as it started.
   */
  private checkStartupSize(h: WorkerHandle, rss: number): void {
    if (this.memoryLimit === 0 || rss <= this.memoryLimit) return;
    this.memoryLimit = 0;
    const mb = (rss / 1048576).toFixed(0);
    this.log.warn(
      `--memory-limit ${this.config.memoryLimit} MB is below a worker's size once it has loaded the app (worker ${h.pid}: ${mb} MB): ` +
        'every worker would be recycled as soon as it started, so the limit is not applied. Raise it above the start-up size.',
    );
  }

  /** The recycle triggers the master watches (--maximum-requests is counted by the worker itself). */
  private checkLimits(h: WorkerHandle, stats: WorkerStats): void {
    if (h.retired || h.recycleDue || h.state !== 'ready') return;
    const c = this.config;
    const serving = (performance.now() - h.readyAt) / 1000;
    if (c.restartInterval > 0 && serving >= c.restartInterval) {
      return this.recycle(h, 'restart_interval', `serving for ${serving.toFixed(1)}s (--restart-interval ${c.restartInterval})`);
    }
    if (c.inactivityTimeout > 0 && stats.idleMs >= c.inactivityTimeout * 1000) {
      return this.recycle(h, 'inactivity_timeout', `idle for ${(stats.idleMs / 1000).toFixed(1)}s (--inactivity-timeout ${c.inactivityTimeout})`);
    }
    if (c.cpuTimeLimit > 0 && stats.cpuSeconds >= c.cpuTimeLimit) {
      return this.recycle(h, 'cpu_time_limit', `used ${stats.cpuSeconds.toFixed(1)}s of CPU (--cpu-time-limit ${c.cpuTimeLimit})`);
    }
    if (this.memoryLimit > 0 && stats.rss > this.memoryLimit) {
      const mb = (stats.rss / 1048576).toFixed(0);
      return this.recycle(h, 'memory_limit', `RSS ${mb} MB (--memory-limit ${c.memoryLimit})`);
    }
  }

  /**
   * --deadlock-timeout: a ready worker that has not answered the heartbeat for
   * that long has a blocked event loop. Its replacement starts at once; its
   * watchdog thread says where its JavaScript is stuck; then it is killed.
   */
  checkStuck(): void {
    if (!watchdogEnabled(this.config)) return;
    const now = performance.now();
    const limit = this.config.deadlockTimeout * 1000;
    for (const h of this.handles.values()) {
      if (h.state === 'ready' && !h.retired && now - h.lastHeard >= limit) this.replaceStuck(h, now - h.lastHeard);
    }
  }

  private replaceStuck(h: WorkerHandle, silentMs: number): void {
    h.retired = true; // out of the count, and its end is no crash
    this.counters.restarts.deadlock_timeout++;
    const delay = this.topUp();
    const replacement = delay > 0 ? `its replacement starts in ${(delay / 1000).toFixed(1)} s` : 'its replacement is starting';
    const stacks = stackWatchdog(this.config);
    this.log.error(
      `worker ${h.pid} has not answered the master's heartbeat for ${(silentMs / 1000).toFixed(1)}s ` +
        `(deadlock_timeout, --deadlock-timeout ${this.config.deadlockTimeout}): its event loop is blocked; ` +
        `${replacement}. ${stacks ? 'Asking where its JavaScript is stuck, then killing it.' : 'Killing it (give --deadlock-timeout explicitly to have its stack logged first).'}`,
    );
    const kill = () => {
      h.kill('SIGKILL');
      this.log.info(`worker ${h.pid} killed (deadlock_timeout)`);
    };
    if (!stacks) return kill();
    stuckStack(h.worker, STACK_TIMEOUT_MS)
      .then(
        (stack) => this.log.error(`worker ${h.pid} was stuck here (deadlock_timeout):\n${stack}`),
        (err: Error) => this.log.error(`worker ${h.pid}: no stack (${err.message})`),
      )
      .finally(kill);
  }

  /** Whether `h` is one of this pool's workers (not yet reaped). */
  owns(h: WorkerHandle): boolean {
    return this.handles.get(h.worker) === h;
  }

  /** Ready workers not retired. */
  ready(): WorkerHandle[] {
    return [...this.handles.values()].filter((h) => h.state === 'ready' && !h.retired);
  }

  /**
   * Tells every worker, and every worker forked from now on, where the server is
   * (what --health-check-path answers).
   */
  announce(phase: ServerPhase): void {
    this.phase = phase;
    for (const h of this.handles.values()) h.send({ t: 'phase', phase });
  }

  /** A worker's last stats, sent as it exits after draining. */
  lastStats(h: WorkerHandle, stats: WorkerStats): void {
    h.stats = stats;
  }

  /**
   * The report with every worker's figures asked for now (the status page and the
   * metrics want the requests just served counted): each worker that does not
   * answer within a second keeps its last heartbeat's.
   */
  async freshReport(): Promise<PoolReport> {
    const asked = [...this.handles.values()].filter((h) => h.state !== 'starting');
    await Promise.all(
      asked.map((h) =>
        h.ask('stats', undefined, 1000).then(
          (stats) => {
            if (this.handles.has(h.worker)) h.stats = stats;
          },
          () => {},
        ),
      ),
    );
    return this.report();
  }

  /** freshReport() for a process group's pool, named, for the status page and the metrics. */
  async groupReport(kind: GroupPoolReport['kind']): Promise<GroupPoolReport> {
    return { ...(await this.freshReport()), name: this.group ?? '', kind, threads: this.config.threads };
  }

  private livingStats(): (WorkerStats | undefined)[] {
    return [...this.handles.values()].map((h) => h.stats);
  }

  report(): PoolReport {
    const now = performance.now();
    const totals = this.totals.totals(this.livingStats());
    return {
      masterPid: process.pid,
      uptime: (now - this.startedAt) / 1000,
      generation: this.generation,
      target: this.target,
      workers: [...this.handles.values()].map((h) => ({
        pid: h.pid,
        generation: h.generation,
        state: h.state,
        age: h.age,
        ...(h.stats ? { stats: h.stats } : {}),
        ...(h.recycling ? { recycling: h.recycling } : {}),
        ...(h.replaced ? { replaced: h.replaced } : {}),
      })),
      recycles: { ...this.counters.recycles },
      restarts: { ...this.counters.restarts },
      startFailures: this.counters.startFailures,
      totals,
      requestsPerSecond: this.totals.rate({ at: now, requests: totals.requests }),
      phase: this.phase,
      version: this.config.version,
    };
  }

  /** The workers that make up the target count: this generation's, not leaving. */
  private counted(): WorkerHandle[] {
    return [...this.handles.values()].filter((h) => h.generation === this.generation && !h.retired && !h.recycling);
  }

  private markReady(handles: readonly WorkerHandle[], messages: readonly ReadyMessage[]): void {
    const now = performance.now();
    handles.forEach((h, i) => {
      h.state = 'ready';
      h.readyAt = now;
      h.lastHeard = now;
      this.checkStartupSize(h, messages[i]!.rss);
    });
    this.hooks.loaded(messages);
  }

  private spawnMany(count: number, generation: number): WorkerHandle[] {
    return Array.from({ length: count }, () => this.spawn(generation));
  }

  private spawn(generation: number): WorkerHandle {
    const worker = forkWorker(this.config, this.socket, this.phase, this.account);
    const handle = new WorkerHandle(worker, generation, this.config, this.logs, this.sink);
    this.handles.set(worker, handle);
    // Only node:cluster's round-robin hands connections over: the main port unless the socket is
    // borrowed, and the workers' --metrics-port listener always.
    if (!this.socket || this.config.metricsPort !== undefined) reclaimHandoffs(worker, () => [...this.handles.values()].some((h) => h !== handle && h.serving));
    worker.once('exit', (code: number | null, signal: string | null) => this.hooks.exited(handle, code, signal));
    return handle;
  }

  /** A worker outside a reload: to fill a gap, or to replace `replacing` (a recycle). */
  private startReplacement(replacing?: WorkerHandle): void {
    const h = this.spawn(this.generation);
    if (replacing?.recycling) h.replaced = { pid: replacing.pid, reason: replacing.recycling };
    h.ready.then(
      (message) => this.replacementReady(h, message, replacing),
      (err: unknown) => this.replacementFailed(h, err, replacing),
    );
  }

  private replacementReady(h: WorkerHandle, message: ReadyMessage, replacing: WorkerHandle | undefined): void {
    if (h.retired) return;
    // A reload finished meanwhile: this one runs the old code.
    if (this.stopping || h.generation !== this.generation) return this.retire(h, 'reload');
    this.bootFailures = 0;
    this.retryAt = 0;
    this.markReady([h], [message]);
    if (replacing) this.finishRecycle(replacing, h);
  }

  private replacementFailed(h: WorkerHandle, err: unknown, replacing: WorkerHandle | undefined): void {
    if (replacing && this.recyclingNow === replacing) {
      this.recyclingNow = undefined;
      replacing.recycling = undefined;
    }
    if (h.retired || this.stopping) return;
    this.bootFailures++;
    this.counters.startFailures++;
    const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (this.bootFailures - 1));
    this.retryAt = performance.now() + delay;
    const text = err instanceof Error ? err.message : String(err);
    const keeps = replacing && this.handles.has(replacing.worker) ? `; worker ${replacing.pid} keeps serving until then` : '';
    this.log.error(
      `a new worker could not start (${this.bootFailures} in a row); next attempt in ${(delay / 1000).toFixed(1)} s${keeps}:\n${text}`,
    );
    this.topUp();
  }

  private finishRecycle(old: WorkerHandle, fresh: WorkerHandle): void {
    const reason = old.recycling!;
    this.recyclingNow = undefined;
    if (this.handles.has(old.worker) && !old.retired) {
      this.counters.recycles[reason]++;
      this.retire(old, 'recycle');
      this.log.info(`worker ${old.pid} recycled (${reason}): worker ${fresh.pid} serves in its place, ${old.pid} drains`);
    }
    this.recycleNext();
  }

  private retire(h: WorkerHandle, reason: 'reload' | 'shutdown' | 'recycle', timeout?: number): void {
    if (h.retired) return;
    h.retired = true;
    if (h.state === 'starting') return h.kill();
    h.state = 'draining';
    const seconds = timeout ?? this.config.gracefulTimeout;
    h.send({ t: 'drain', reason, timeout: seconds });
    // A worker wedged in a busy loop cannot act on the message: the deadline is ours too.
    const deadline = setTimeout(() => h.kill(), seconds * 1000 + 2000);
    void h.exited.then(() => clearTimeout(deadline));
  }

  private async killAll(handles: readonly WorkerHandle[]): Promise<void> {
    for (const h of handles) {
      h.retired = true;
      h.kill();
    }
    await Promise.all(handles.map((h) => h.exited));
  }
}
