/**
 * The worker pool: start, replace crashed workers (with back-off), rolling
 * reload, graceful stop. Short verbs: spawn, topUp, retire, reload, stop.
 * A rolling reload starts a full new generation, waits until every new worker is
 * ready, and only then retires the old one; if the new code cannot load, the new
 * workers are killed and the old ones keep serving.
 */
import type { Worker } from 'node:cluster';
import type { Config } from '../config/schema.js';
import type { ReadyMessage } from '../ipc/messages.js';
import type { ListeningSocket } from './listening-socket.js';
import type { LogWriter } from './log-writer.js';
import { reclaimHandoffs } from './handoff-reclaim.js';
import { forkWorker, StartFailure, WorkerHandle } from './worker-handle.js';

const CRASH_WINDOW_MS = 60_000;
const MAX_BACKOFF_MS = 30_000;

export interface SupervisorHooks {
  /** A generation became ready: the files its workers loaded. */
  onReady(messages: readonly ReadyMessage[]): void;
}

export class Supervisor {
  private readonly handles = new Map<Worker, WorkerHandle>();
  private generation = 0;
  private stopping = false;
  private reloading = false;
  private crashes: number[] = [];
  private topUpTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: Config,
    private readonly logs: LogWriter,
    private readonly hooks: SupervisorHooks,
    /** The listening socket the master owns and lends to each worker, when it owns one. */
    private readonly socket?: ListeningSocket,
  ) {}

  private get log() {
    return this.logs.log;
  }

  /** Starts the first generation; rejects with the app's error if it cannot load. */
  async start(): Promise<readonly ReadyMessage[]> {
    this.generation = 1;
    const fresh = this.spawnMany(this.config.processes, this.generation);
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
    this.log.info(`Reloading (${reason}): starting ${this.config.processes} new worker(s)`);
    const fresh = this.spawnMany(this.config.processes, next);
    try {
      const messages = await Promise.all(fresh.map((h) => h.ready));
      const old = this.current();
      this.generation = next;
      this.markReady(fresh, messages);
      for (const h of old) this.retire(h, 'reload');
      this.log.info(`Reload complete: ${fresh.length} new worker(s) serving, ${old.length} draining`);
      return true;
    } catch (err) {
      await this.killAll(fresh);
      const text = err instanceof Error ? err.message : String(err);
      this.log.error(`Reload failed; the previous code keeps serving. The application could not load:\n${text}`);
      this.topUp();
      return false;
    } finally {
      this.reloading = false;
    }
  }

  /** Graceful stop: in-flight requests get `timeout` seconds, then workers are killed. */
  async stop(timeout: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.topUpTimer);
    const all = [...this.handles.values()];
    for (const h of all) this.retire(h, 'shutdown', timeout);
    const deadline = setTimeout(() => all.forEach((h) => h.kill()), timeout * 1000 + 500);
    await Promise.all(all.map((h) => h.exited));
    clearTimeout(deadline);
  }

  /** Immediate stop (second SIGINT). */
  async kill(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.topUpTimer);
    await this.killAll([...this.handles.values()]);
  }

  get size(): number {
    return this.handles.size;
  }

  private current(): WorkerHandle[] {
    return [...this.handles.values()].filter((h) => h.generation === this.generation && h.state !== 'draining');
  }

  private markReady(handles: readonly WorkerHandle[], messages: readonly ReadyMessage[]): void {
    for (const h of handles) {
      h.state = 'ready';
      h.readyAt = performance.now();
    }
    this.hooks.onReady(messages);
  }

  private spawnMany(count: number, generation: number): WorkerHandle[] {
    return Array.from({ length: count }, () => this.spawn(generation));
  }

  private spawn(generation: number): WorkerHandle {
    const worker = forkWorker(this.config, this.socket);
    const handle = new WorkerHandle(worker, generation, this.config, this.logs, this.socket);
    this.handles.set(worker, handle);
    // Only node:cluster's round-robin hands connections over; a borrowed socket has no hand-offs.
    if (!this.socket) reclaimHandoffs(worker, () => [...this.handles.values()].some((h) => h !== handle && h.serving));
    worker.once('exit', (code: number | null, signal: string | null) => this.onExit(handle, code, signal));
    return handle;
  }

  private retire(h: WorkerHandle, reason: 'reload' | 'shutdown', timeout?: number): void {
    if (h.state === 'starting') return h.kill();
    h.state = 'draining';
    const seconds = timeout ?? this.config.gracefulTimeout;
    h.send({ t: 'drain', reason, timeout: seconds });
    // A worker wedged in a busy loop cannot act on the message: the deadline is ours too.
    const deadline = setTimeout(() => h.kill(), seconds * 1000 + 2000);
    void h.exited.then(() => clearTimeout(deadline));
  }

  private async killAll(handles: readonly WorkerHandle[]): Promise<void> {
    for (const h of handles) h.kill();
    await Promise.all(handles.map((h) => h.exited));
  }

  private onExit(h: WorkerHandle, code: number | null, signal: string | null): void {
    this.handles.delete(h.worker);
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (this.stopping || h.state === 'starting') return;
    if (h.state === 'draining') {
      this.log.debug(`worker ${h.pid} retired (${how})`);
      return;
    }
    this.log.error(`worker ${h.pid} died (${how}) ${h.describe()}; starting a replacement`);
    this.crashes.push(performance.now());
    this.topUp();
  }

  /** Brings the current generation back to --processes workers, backing off on repeated crashes. */
  private topUp(): void {
    if (this.stopping || this.reloading || this.topUpTimer) return;
    const now = performance.now();
    this.crashes = this.crashes.filter((t) => now - t < CRASH_WINDOW_MS);
    const n = this.crashes.length;
    const delay = n <= 1 ? 0 : Math.min(MAX_BACKOFF_MS, 250 * 2 ** (n - 2));
    if (delay > 0) this.log.warn(`${n} worker crashes in the last minute; next start in ${delay} ms`);
    this.topUpTimer = setTimeout(() => {
      this.topUpTimer = undefined;
      void this.fill();
    }, delay);
  }

  private async fill(): Promise<void> {
    if (this.stopping || this.reloading) return;
    const missing = this.config.processes - this.current().length;
    const fresh = this.spawnMany(Math.max(0, missing), this.generation);
    const results = await Promise.allSettled(fresh.map((h) => h.ready));
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') this.markReady([fresh[i]!], [r.value]);
      else if (r.reason instanceof StartFailure) {
        this.log.error(`replacement worker could not start:\n${r.reason.message}`);
        this.crashes.push(performance.now());
        this.topUp();
      }
    });
  }
}
