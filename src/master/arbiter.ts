/**
 * The master's event loop. Everything that happens to the master is an event in
 * one queue: a signal, a tick, a file change, a worker's exit, a long verb
 * finishing (start-up, reload, stop). One loop takes them in order and runs the
 * matching `handle<Event>` verb, which is short and never waits: what it starts
 * comes back later as another event. So verbs never interleave, and a signal
 * that arrives while the master is starting up or reloading is handled in turn,
 * not lost. Modelled on gunicorn's arbiter (SIG_QUEUE, handle_*, manage_workers
 * each tick); the pool's verbs live in supervisor.ts, the IPC handler table in
 * worker-messages.ts.
 */
import type { Config } from '../config/schema.js';
import type { GroupPoolReport, MasterQuestions, PoolReport, ReadyMessage } from '../ipc/messages.js';
import type { Answerers } from '../ipc/rpc.js';
import { banner, capacity, serverUrls } from './banner.js';
import { EventQueue } from './event-queue.js';
import type { ListeningSockets } from './listening-socket.js';
import type { LogWriter } from './log-writer.js';
import type { WorkerIdentity } from './privileges.js';
import type { DevelopmentCertificate } from './tls-dev-certificate.js';
import type { TlsState } from './tls-state.js';
import { installSignals, removeSignals, type MasterSignal } from './signals.js';
import { Supervisor } from './supervisor.js';
import { ChangeWatcher } from './watcher.js';
import { accessScripts } from '../auth/access-config.js';
import type { AuthService } from './auth-service.js';
import type { WorkerHandle } from './worker-handle.js';
import type { ProcessGroup } from '../config/groups.js';
import { GroupPools } from './group-pools.js';
import { MatchApps } from './match-apps.js';

/** How often the periodic verbs run: top up, heartbeat, recycle and watchdog checks. */
export const TICK_MS = 1000;

/** How long a worker may take to write its CPU profile (a worker paused in a debugger answers late). */
const PROFILE_ANSWER_MS = 60_000;

export type MasterEvent =
  | { readonly type: MasterSignal }
  | { readonly type: 'tick' }
  | { readonly type: 'booted'; readonly messages: readonly ReadyMessage[] }
  | { readonly type: 'boot-failed'; readonly error: unknown }
  | { readonly type: 'files-changed'; readonly files: readonly string[] }
  | { readonly type: 'password-files-changed' }
  | { readonly type: 'reload-finished' }
  | { readonly type: 'drain-delay-over' }
  | { readonly type: 'worker-exit'; readonly handle: WorkerHandle; readonly code: number | null; readonly signal: string | null }
  | { readonly type: 'stopped' };

type Handlers = { readonly [T in MasterEvent['type']]: (event: Extract<MasterEvent, { type: T }>) => void };

/** Events that need a running server: queued during start-up, handled once it is ready. */
const AFTER_READY: ReadonlySet<MasterEvent['type']> = new Set(['SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGUSR2', 'files-changed']);

export interface ArbiterOptions {
  readonly config: Config;
  readonly logs: LogWriter;
  readonly socket: ListeningSockets | undefined;
  /** Access control's master side (auth-service.ts), when the options need one. */
  readonly auth?: AuthService;
  /** Who the workers run as (--user, --group). */
  readonly identity: WorkerIdentity;
  /** The development certificate the master made or found (--https-port without one), for the banner. */
  readonly dev?: DevelopmentCertificate | undefined;
  /** With --https-port: the certificate and ticket keys every worker shares, renewed and rotated here. */
  readonly tls?: TlsState | undefined;
  /** Start-up failed: report it; returns the exit code. */
  readonly bootFailed: (error: unknown) => number;
  /** The process groups besides the main one (config/groups.ts), each with its own pool. */
  readonly groups?: readonly ProcessGroup[];
}

function filesToWatch(config: Config, messages: readonly ReadyMessage[]): string[] {
  if (config.disableReloading) return [];
  // The --auth-*-script files are code the workers load: a change reloads them as the app's does.
  if (!config.reloadOnChanges) return [config.scriptPath, ...config.apps.map((a) => a.scriptPath), ...accessScripts(config)];
  return [...new Set(messages.flatMap((m) => m.files))];
}

export class Arbiter {
  private readonly queue = new EventQueue<MasterEvent>();
  private readonly supervisor: Supervisor;
  private readonly groups: GroupPools;
  /** The pattern mounts' apps (--mount-app-match), each a pool started on demand. */
  private readonly matchApps: MatchApps;
  /** The files the main pool's workers loaded: a change to one of them reloads that pool. */
  private readonly mainFiles = new Set<string>();
  private readonly watcher: ChangeWatcher;
  private phase: 'starting' | 'serving' | 'stopping' = 'starting';
  private readonly waitingForReady: MasterEvent[] = [];
  private reloading = false;
  /** A reload asked for while one runs: they collapse into one more, of every pool asked for. */
  private reloadAgain: { reason: string; pools: Set<Supervisor> } | undefined;
  private killing = false;
  /** --drain-delay running after SIGTERM: serving on, the health path answering 503. */
  private drainDelay: NodeJS.Timeout | undefined;
  private exitCode: number | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private readonly config: Config;
  private readonly socket: ListeningSockets | undefined;

  constructor(private readonly opts: ArbiterOptions) {
    this.config = opts.config;
    this.socket = opts.socket;
    this.watcher = new ChangeWatcher((files) => this.queue.push({ type: 'files-changed', files }));
    const answers: Answerers<MasterQuestions, WorkerHandle> = {
      pool: () => this.poolReport(),
      'auth-state': () => this.authService().state(),
      'auth-claim': (body) => this.authService().claim(body),
      tls: () => {
        if (!opts.tls) throw new Error('this server has no HTTPS listener');
        return opts.tls.material();
      },
      'match-app': (body) => this.matchApps.serve(body),
    };
    this.supervisor = new Supervisor(
      opts.config,
      opts.logs,
      {
        exited: (handle, code, signal) => this.queue.push({ type: 'worker-exit', handle, code, signal }),
        loaded: (messages) => {
          for (const m of messages) for (const f of m.files) this.mainFiles.add(f);
          void this.watcher.add(filesToWatch(this.config, messages));
        },
      },
      answers,
      opts.socket,
      opts.identity,
    );
    this.groups = new GroupPools(
      opts.config,
      opts.groups ?? [],
      opts.logs,
      {
        exited: (handle, code, signal) => this.queue.push({ type: 'worker-exit', handle, code, signal }),
        loaded: (messages) => void this.watcher.add(filesToWatch(this.config, messages)),
      },
      answers,
      opts.identity,
    );
    this.matchApps = new MatchApps(opts.config, opts.logs, {
      exited: (handle, code, signal) => this.queue.push({ type: 'worker-exit', handle, code, signal }),
      loaded: () => {},
      watch: (files) => {
        if (!this.config.disableReloading) void this.watcher.add(files);
      },
    }, answers, opts.identity);
  }

  /** Every pool: the main one (which accepts the connections) first, then each process group's, then the pattern apps'. */
  private get pools(): Supervisor[] {
    return [this.supervisor, ...this.groups.supervisors, ...this.matchApps.supervisors];
  }

  private get log() {
    return this.opts.logs.log;
  }

  /** The status page's and the metrics' figures: the main pool's, with each process group's beside them. */
  private async poolReport(): Promise<PoolReport> {
    const [main, ...groups] = await Promise.all([
      this.supervisor.freshReport(),
      ...this.groups.supervisors.map((s) => s.groupReport('group')),
      ...this.matchApps.supervisors.map((s) => s.groupReport('pattern')),
    ]);
    return groups.length > 0 ? { ...main!, groups: groups as GroupPoolReport[] } : main!;
  }

  private authService(): AuthService {
    if (!this.opts.auth) throw new Error('no access-control option needs the master');
    return this.opts.auth;
  }

  /** Runs until the server has stopped; resolves with the exit code. */
  async run(): Promise<number> {
    installSignals((signal) => this.queue.push({ type: signal }));
    this.opts.tls?.onUpdate((message) => this.supervisor.broadcast(message));
    void this.opts.tls?.watch();
    this.tickTimer = setInterval(() => this.queue.push({ type: 'tick' }), TICK_MS);
    void this.boot();
    try {
      for await (const event of this.queue) this.dispatch(event);
    } finally {
      clearInterval(this.tickTimer);
      clearTimeout(this.drainDelay);
      removeSignals();
      await this.watcher.close();
      await this.opts.auth?.close();
      await this.opts.tls?.close();
      this.groups.close();
      this.matchApps.close();
    }
    return this.exitCode ?? 0;
  }

  private readonly handlers: Handlers = {
    SIGTERM: () => this.handleSigterm(),
    SIGINT: () => this.handleSigint(),
    SIGHUP: () => this.handleSighup(),
    SIGTTIN: () => this.handleSigttin(),
    SIGTTOU: () => this.handleSigttou(),
    SIGUSR2: () => this.handleSigusr2(),
    SIGUSR1: () => this.handleSigusr1(),
    tick: () => this.handleTick(),
    booted: (e) => this.handleBooted(e.messages),
    'boot-failed': (e) => this.handleBootFailed(e.error),
    'files-changed': (e) => this.handleFilesChanged(e.files),
    'password-files-changed': () => this.handlePasswordFilesChanged(),
    'reload-finished': () => this.handleReloadFinished(),
    'drain-delay-over': () => this.handleDrainDelayOver(),
    'worker-exit': (e) => this.handleWorkerExit(e.handle, e.code, e.signal),
    stopped: () => this.handleStopped(),
  };

  private dispatch(event: MasterEvent): void {
    if (this.phase === 'starting' && AFTER_READY.has(event.type)) {
      if (event.type.startsWith('SIG')) this.log.info(`${event.type} received while starting: handled once the server is ready`);
      this.waitingForReady.push(event);
      return;
    }
    try {
      (this.handlers[event.type] as (e: MasterEvent) => void)(event);
    } catch (err) {
      // A verb that throws is a bug in the master; it must not take the server down.
      this.log.error(`master: handling ${event.type} failed: ${err instanceof Error ? err.stack : String(err)}`);
    }
  }

  /** Starts the first generation and arms the watcher; the outcome comes back as an event. */
  private async boot(): Promise<void> {
    try {
      const [main, groups] = await Promise.allSettled([this.supervisor.start(), this.groups.start()]);
      if (main.status === 'rejected' || groups.status === 'rejected') {
        // One pool that cannot start stops the start-up: the others' workers go too.
        await Promise.all([this.supervisor.kill(), this.groups.kill()]);
        throw main.status === 'rejected' ? main.reason : (groups as PromiseRejectedResult).reason;
      }
      const messages = main.value;
      await this.watcher.add(filesToWatch(this.config, messages));
      await this.opts.auth?.watch(() => this.queue.push({ type: 'password-files-changed' }));
      this.queue.push({ type: 'booted', messages });
    } catch (error) {
      this.queue.push({ type: 'boot-failed', error });
    }
  }

  private handleBooted(messages: readonly ReadyMessage[]): void {
    if (this.phase !== 'starting') return;
    this.phase = 'serving';
    this.announce('serving');
    const logs = this.opts.logs;
    const n = this.config.processes;
    const ready = `Ready: ${n} worker${n === 1 ? '' : 's'} serving ${serverUrls(this.config).join(' ')}`;
    // One write: the Ready line goes out with the banner, before whatever is logged next.
    const groups = this.groups.list.map((p) => ({ name: p.group.name, apps: p.group.apps, kinds: p.kinds, config: p.config, user: p.user }));
    logs.stdout(`${banner(this.config, messages[0]?.kind ?? 'tsgi', messages[0]?.inspector, this.opts.identity.banner, this.opts.dev, messages[0]?.appKinds, groups)}${ready}\n`);
    logs.startup(ready);
    logs.startupFinished();
    for (const event of this.waitingForReady.splice(0)) this.queue.push(event);
  }

  private handleBootFailed(error: unknown): void {
    if (this.phase === 'stopping') return; // the stop killed the starting workers; 'stopped' follows
    this.exitCode = this.opts.bootFailed(error);
    this.queue.close();
  }

  private handleSigterm(): void {
    if (this.drainDelay) return this.endDrainDelay('a second SIGTERM');
    // --drain-delay: orchestrators send SIGTERM; a load balancer polling the health path needs time to see 503.
    if (this.phase === 'serving' && this.config.drainDelay > 0) return this.startDrainDelay();
    this.stopGracefully('SIGTERM');
  }

  private startDrainDelay(): void {
    this.phase = 'stopping';
    this.announce('stopping');
    const s = this.config.drainDelay;
    this.log.info(`SIGTERM received: serving ${s}s more (--drain-delay) while the health check answers 503, then stopping gracefully`);
    this.drainDelay = setTimeout(() => this.queue.push({ type: 'drain-delay-over' }), s * 1000);
  }

  private handleDrainDelayOver(): void {
    if (this.drainDelay) this.endDrainDelay(`--drain-delay ${this.config.drainDelay}s over`);
  }

  private endDrainDelay(why: string): void {
    clearTimeout(this.drainDelay);
    this.drainDelay = undefined;
    this.phase = 'serving'; // for stopGracefully, which sets it again at once
    this.log.info(`${why}: stopping gracefully`);
    this.stopGracefully(undefined);
  }

  private handleSigint(): void {
    if (this.drainDelay) return this.endDrainDelay('SIGINT');
    if (this.phase !== 'stopping') return this.stopGracefully('SIGINT');
    if (this.killing) return;
    this.killing = true;
    this.log.warn('Second SIGINT: stopping now');
    void Promise.all([...this.pools.map((p) => p.kill()), this.matchApps.kill()]).then(() => this.queue.push({ type: 'stopped' }));
  }

  /** `signal` undefined: the stop a --drain-delay announced. */
  private stopGracefully(signal: MasterSignal | undefined): void {
    if (this.phase === 'stopping') return;
    this.phase = 'stopping';
    this.announce('stopping');
    if (signal) this.log.info(`${signal} received: stopping gracefully`);
    // Refuse new connections once the workers have closed their copies of the socket.
    this.socket?.close();
    // The process groups after the main pool: its workers pass requests on to them until they leave.
    const timeout = this.config.shutdownTimeout;
    void this.supervisor
      .stop(timeout)
      .then(() => Promise.all([this.groups.stop(timeout), this.matchApps.stop(timeout)]))
      .then(() => this.queue.push({ type: 'stopped' }));
  }

  private handleStopped(): void {
    if (this.exitCode !== undefined) return;
    this.exitCode = 0;
    this.queue.close();
  }

  private handleSighup(): void {
    if (this.phase !== 'serving') return;
    this.log.info('SIGHUP received: rolling reload');
    this.opts.auth?.reread();
    this.reload('SIGHUP', this.pools);
  }

  /** A password file changed: re-read in place, no reload (auth-service.ts says why). */
  private handlePasswordFilesChanged(): void {
    this.opts.auth?.reread();
  }

  private handleFilesChanged(files: readonly string[]): void {
    if (this.phase !== 'serving') return;
    this.reload(`changed: ${files.join(', ')}`, this.poolsLoading(files));
  }

  /**
   * The pools a change to `files` reloads: each whose workers loaded one of them
   * (a process group's change leaves the other groups as they are); every pool
   * when none claims them (a file a worker had not loaded yet).
   */
  private poolsLoading(files: readonly string[]): Supervisor[] {
    const main = files.some((f) => this.mainFiles.has(f) || f === this.config.scriptPath || accessScripts(this.config).includes(f) ||
      this.config.apps.some((a, i) => a.scriptPath === f && this.groups.list.every((p) => !p.group.apps.includes(i))));
    const groups = this.groups.affectedBy(files).map((p) => p.supervisor);
    const matched = this.matchApps.changed(files);
    const pools = [...(main ? [this.supervisor] : []), ...groups, ...matched.pools];
    return pools.length > 0 || matched.claimed ? pools : this.pools;
  }

  /** Reloads run one at a time; those asked for meanwhile collapse into one more, of every pool asked for. */
  private reload(reason: string, pools: readonly Supervisor[]): void {
    if (this.reloading) {
      const again = this.reloadAgain ?? { reason, pools: new Set<Supervisor>() };
      again.reason = reason;
      for (const p of pools) again.pools.add(p);
      this.reloadAgain = again;
      return;
    }
    this.reloading = true;
    void Promise.all(pools.map((p) => p.reload(reason))).then(() => this.queue.push({ type: 'reload-finished' }));
  }

  private handleReloadFinished(): void {
    this.reloading = false;
    const again = this.reloadAgain;
    this.reloadAgain = undefined;
    if (again !== undefined && this.phase === 'serving') this.reload(again.reason, [...again.pools]);
  }

  private announce(phase: 'serving' | 'stopping'): void {
    for (const p of [this.supervisor, ...this.groups.supervisors]) p.announce(phase);
    this.matchApps.announce(phase);
  }

  /** Whenever it comes, even during start-up: an external logrotate has moved the files. */
  private handleSigusr1(): void {
    this.log.info('SIGUSR1 received: reopening the log files');
    this.opts.logs.reopen();
  }

  private handleSigttin(): void {
    if (this.phase !== 'serving') return;
    this.supervisor.scaleUp();
    this.log.info(`SIGTTIN received: adding a worker; Request Capacity: ${this.capacityText()}`);
  }

  private handleSigttou(): void {
    if (this.phase !== 'serving') return;
    const scaled = this.supervisor.scaleDown();
    if (!scaled) {
      this.log.warn('SIGTTOU received: already down to one worker; ignored');
      return;
    }
    const which = scaled.pid === undefined ? 'one worker fewer' : `worker ${scaled.pid} drains`;
    this.log.info(`SIGTTOU received: removing a worker (${which}); Request Capacity: ${this.capacityText()}`);
  }

  /** --enable-profiler: each worker writes its CPU profile so far, and goes on profiling. */
  private handleSigusr2(): void {
    if (this.phase !== 'serving') return;
    if (!this.config.enableProfiler) {
      this.log.warn('SIGUSR2 received: the server runs without --enable-profiler; ignored');
      return;
    }
    for (const h of this.pools.flatMap((p) => p.ready())) {
      h.ask('cpu-profile', undefined, PROFILE_ANSWER_MS).then(
        (file) => this.log.info(`SIGUSR2 received: CPU profile of worker ${h.pid} written: ${file}`),
        (err: unknown) => this.log.error(`SIGUSR2 received: worker ${h.pid} wrote no CPU profile: ${err instanceof Error ? err.message : String(err)}`),
      );
    }
  }

  private capacityText(): string {
    return capacity(this.config, this.supervisor.capacity.processes);
  }

  private handleWorkerExit(handle: WorkerHandle, code: number | null, signal: string | null): void {
    (this.groups.owning(handle) ?? this.matchApps.owning(handle) ?? this.supervisor).reap(handle, code, signal);
  }

  /** The periodic verbs. */
  private handleTick(): void {
    // During --drain-delay the server still serves: the pool keeps its size and its figures.
    if (this.drainDelay) {
      this.supervisor.topUp();
      this.supervisor.heartbeat();
      this.groups.tick(false);
      this.matchApps.tick(false);
      return;
    }
    if (this.phase !== 'serving') return;
    this.supervisor.topUp();
    this.supervisor.checkStuck();
    this.supervisor.heartbeat();
    this.supervisor.recycleNext();
    this.groups.tick(true);
    this.matchApps.tick(true);
    this.opts.tls?.tick();
  }
}
