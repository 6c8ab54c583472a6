/**
 * The pattern mounts' applications (--mount-app-match, mass hosting): one
 * process group per site, started on demand. A front worker whose request a
 * pattern chose asks the master (`match-app`) where the app serves; the first
 * ask starts its group (a Supervisor with its own unix socket, as a --mount-app
 * group's, group-pools.ts) and is answered once its workers are ready, later
 * asks at once. Each ask marks the app used; the arbiter's tick stops an app
 * idle for --match-idle-timeout, or whose script is gone. At --max-match-apps
 * the least recently used idle app (none in flight, asked now) is stopped to
 * make room; none idle: 503.
 *
 * An app that fails to load is not retried before its back-off (1 s, doubling
 * to 30 s) unless its script changes: its requests get 500 meanwhile (503 when
 * it did not start within --startup-timeout), and no other app is touched.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { AppConfig } from '../config/apps.js';
import { groupSocketPath, groupView, type ProcessGroup } from '../config/groups.js';
import { periodicVerbs } from './group-pools.js';
import { compileMatchRules, insideRule, type MatchRule } from '../config/match-rules.js';
import type { Config } from '../config/schema.js';
import type { MatchAppAnswer, PoolReport, ServerPhase } from '../ipc/messages.js';
import { ListeningSockets } from './listening-socket.js';
import type { LogWriter } from './log-writer.js';
import type { WorkerIdentity } from './privileges.js';
import { Supervisor, type PoolHooks } from './supervisor.js';
import type { WorkerHandle } from './worker-handle.js';
import type { MasterAnswers } from './worker-messages.js';

/** Back-off after a failed start: 1 s, doubling, at most 30 s. */
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;
/** What a 503 at the cap says to come back after, seconds. */
const FULL_RETRY_AFTER = 2;

interface MatchApp {
  readonly script: string;
  /** Its process group's name: the mount it was first asked for. */
  readonly name: string;
  readonly rule: MatchRule;
  readonly config: Config;
  readonly supervisor: Supervisor;
  readonly socket: ListeningSockets;
  /** The files its workers loaded (what a change reloads it for). */
  readonly files: Set<string>;
  state: 'starting' | 'serving';
  started: Promise<MatchAppAnswer>;
  /** performance.now() of the last ask for it. */
  lastUsed: number;
}

interface Failure {
  readonly count: number;
  readonly retryAt: number;
  readonly answer: MatchAppAnswer;
}

export interface MatchAppHooks extends PoolHooks {
  /** Files to watch for a pattern app (its script before it loads, then what it loaded). */
  watch(files: readonly string[]): void;
}

/** The Config a pattern app's workers run with: a process group of one app. */
export function matchGroupView(front: Config, script: string, mount: string, rule: MatchRule): Config {
  const app: AppConfig = {
    mount,
    scriptPath: script,
    interface: 'auto',
    callableObject: 'application',
    keepMountPrefix: false,
    setenv: [],
    passenv: [],
    source: rule.source,
    group: mount,
  };
  const group: ProcessGroup = {
    name: mount,
    apps: [0],
    processes: front.matchProcesses,
    threads: front.threads,
    queueTimeout: front.queueTimeout,
    workingDirectory: path.dirname(script),
    multiprocess: front.multiprocess || front.matchProcesses > 1,
  };
  return Object.freeze({ ...groupView({ ...front, apps: [app] }, group), mountAppMatch: [] });
}

/** Requests in a group's workers, by their last (or fresh) stats; a worker not heard from yet counts as busy. */
function busy(report: PoolReport): boolean {
  return report.workers.some((w) => w.stats === undefined || w.stats.inFlight + w.stats.queued > 0);
}

export class MatchApps {
  private readonly rules: readonly MatchRule[];
  private readonly live = new Map<string, MatchApp>();
  /** Apps stopping: their workers' exits are still theirs to reap. */
  private readonly leaving = new Set<MatchApp>();
  private readonly failures = new Map<string, Failure>();
  /** Admissions (the cap checked, a stop to make room, a start launched) one at a time, so the cap holds; the starts themselves overlap. */
  private admitting: Promise<unknown> = Promise.resolve();
  private phase: ServerPhase = 'starting';
  private stopping = false;

  constructor(
    private readonly front: Config,
    private readonly logs: LogWriter,
    private readonly hooks: MatchAppHooks,
    private readonly answers: MasterAnswers,
    private readonly identity: WorkerIdentity,
  ) {
    this.rules = compileMatchRules(front.mountAppMatch);
  }

  private get log() {
    return this.logs.log;
  }

  get supervisors(): Supervisor[] {
    return [...this.live.values()].map((a) => a.supervisor);
  }

  /** The `match-app` question: where `script`'s group serves, started if need be. */
  async serve(ask: { script: string; mount: string }): Promise<MatchAppAnswer> {
    const answer = this.known(ask.script);
    if (answer !== undefined) return answer;
    const rule = insideRule(this.rules, ask.script);
    if (rule === undefined) return { status: 500, detail: 'No pattern mount names this script.' };
    // Only the decision (the cap, a stop to make room, the start's launch) waits its turn:
    // an app slow to load keeps no other app from starting meanwhile.
    const admitted = this.admitting.then(() => this.admit(ask.script, ask.mount, rule));
    this.admitting = admitted.catch(() => {});
    return admitted.then((a) => a.answer);
  }

  /** The answer for an app running, starting or backing off; undefined when it is to be started. */
  private known(script: string): Promise<MatchAppAnswer> | MatchAppAnswer | undefined {
    if (this.stopping) return { status: 503, detail: 'The server is stopping.', retryAfter: 1 };
    const app = this.live.get(script);
    if (app !== undefined) {
      app.lastUsed = performance.now();
      return app.started;
    }
    const failure = this.failures.get(script);
    if (failure !== undefined && performance.now() < failure.retryAt) return failure.answer;
    return undefined;
  }

  /** The admission's outcome, wrapped so that awaiting the admission does not await the start. */
  private async admit(script: string, mount: string, rule: MatchRule): Promise<{ answer: Promise<MatchAppAnswer> | MatchAppAnswer }> {
    const answer = this.known(script); // started while this ask waited its turn
    if (answer !== undefined) return { answer };
    if (this.live.size >= this.front.maxMatchApps && !(await this.makeRoom())) {
      const max = this.front.maxMatchApps;
      this.log.warn(`--mount-app-match: ${script} not started: --max-match-apps ${max} applications run and none is idle`);
      return { answer: { status: 503, detail: `The server runs as many sites as it may (${max}) and none is idle; try again shortly.`, retryAfter: FULL_RETRY_AFTER } };
    }
    return { answer: this.start(script, mount, rule).started };
  }

  /** Stops the least recently used app with nothing in flight; false when every one is busy. */
  private async makeRoom(): Promise<boolean> {
    const candidates = [...this.live.values()].filter((a) => a.state === 'serving').sort((a, b) => a.lastUsed - b.lastUsed);
    for (const app of candidates) {
      if (busy(await app.supervisor.freshReport()) || this.live.get(app.script) !== app) continue;
      this.retire(app, `the least recently used of --max-match-apps ${this.front.maxMatchApps}, to make room`);
      return true;
    }
    return false;
  }

  private start(script: string, mount: string, rule: MatchRule): MatchApp {
    const name = mount;
    const config = matchGroupView(this.front, script, mount, rule);
    const owner = this.identity.uid !== undefined ? { uid: this.identity.uid, gid: this.identity.gid ?? -1 } : undefined;
    // Named after the script, so the front's kept-alive pools (one per socket) stay one per site.
    const socketPath = groupSocketPath(this.front, `match-${createHash('sha256').update(script).digest('hex').slice(0, 16)}`);
    const socket = ListeningSockets.ofPath(socketPath, owner);
    const files = new Set<string>();
    const supervisor = new Supervisor(config, this.logs, {
      exited: this.hooks.exited,
      loaded: (messages) => {
        for (const m of messages) for (const f of m.files) files.add(f);
        this.hooks.loaded(messages);
        this.hooks.watch(this.front.reloadOnChanges ? [...files] : [script]);
      },
    }, this.answers, socket, this.identity, name);
    supervisor.announce(this.phase);
    const app: MatchApp = { script, name, rule, config, supervisor, socket, files, state: 'starting', started: Promise.resolve({ socketPath, group: name }), lastUsed: performance.now() };
    this.live.set(script, app);
    this.hooks.watch([script]);
    this.log.info(`process group ${name}: starting ${config.processes} worker(s) for ${script} (${rule.source})`);
    app.started = supervisor.start().then(
      () => {
        app.state = 'serving';
        this.failures.delete(script);
        this.log.info(`process group ${name}: serving ${mount} from ${script}`);
        return { socketPath, group: name };
      },
      (err: unknown) => this.failed(app, err),
    );
    return app;
  }

  private failed(app: MatchApp, err: unknown): MatchAppAnswer {
    if (this.live.get(app.script) === app) this.live.delete(app.script);
    app.socket.close();
    const count = (this.failures.get(app.script)?.count ?? 0) + 1;
    const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (count - 1));
    const text = err instanceof Error ? err.message : String(err);
    const timedOut = /--startup-timeout/.test(text);
    const answer: MatchAppAnswer = timedOut
      ? { status: 503, detail: `The application at ${app.name} did not start in time; try again shortly.`, retryAfter: Math.ceil(delay / 1000) }
      : { status: 500, detail: `The application at ${app.name} could not be loaded; the server's error log says why.` };
    this.failures.set(app.script, { count, retryAt: performance.now() + delay, answer });
    if (this.stopping) return answer;
    this.log.error(
      `process group ${app.name}: ${app.script} could not be started (${count} in a row); its requests get ${answer.status} until a request after ${(delay / 1000).toFixed(0)} s, or a change to it, tries again:\n${text}`,
    );
    return answer;
  }

  /** Stops an app's group; its socket goes at once, so no new request reaches it. */
  private retire(app: MatchApp, why: string): void {
    this.live.delete(app.script);
    this.leaving.add(app);
    app.socket.close();
    this.log.info(`process group ${app.name}: stopping (${why})`);
    void app.supervisor.stop(this.front.shutdownTimeout).then(() => {
      this.leaving.delete(app);
      this.log.info(`process group ${app.name}: stopped`);
    });
  }

  /**
   * Files changed: the running apps that loaded one of them (to reload), and
   * whether any pattern app claims them (a failed app's script: tried again on
   * its next request; a stopped app's: nothing to do).
   */
  changed(files: readonly string[]): { pools: Supervisor[]; claimed: boolean } {
    let claimed = false;
    for (const f of files) {
      if (this.failures.delete(f) || insideRule(this.rules, f) !== undefined) claimed = true;
    }
    const pools: Supervisor[] = [];
    for (const app of [...this.live.values()]) {
      if (!files.some((f) => app.files.has(f) || f === app.script)) continue;
      claimed = true;
      if (!existsSync(app.script)) this.retire(app, 'its script is gone');
      else if (app.state === 'serving') pools.push(app.supervisor);
    }
    return { pools, claimed };
  }

  announce(phase: ServerPhase): void {
    this.phase = phase;
    for (const s of this.supervisors) s.announce(phase);
  }

  /** The periodic verbs, as for the other pools; then the idle and removed apps are stopped. */
  tick(serving: boolean): void {
    periodicVerbs(this.supervisors, serving);
    if (!serving) return;
    const idleMs = this.front.matchIdleTimeout * 1000;
    const now = performance.now();
    for (const app of [...this.live.values()]) {
      if (app.state !== 'serving') continue;
      if (!existsSync(app.script)) this.retire(app, 'its script is gone');
      else if (idleMs > 0 && now - app.lastUsed >= idleMs && !busy(app.supervisor.report())) {
        this.retire(app, `no request for ${((now - app.lastUsed) / 1000).toFixed(1)} s, --match-idle-timeout ${this.front.matchIdleTimeout}`);
      }
    }
  }

  /** The pool a worker belongs to (its exit is reaped there). */
  owning(h: WorkerHandle): Supervisor | undefined {
    for (const app of [...this.live.values(), ...this.leaving]) if (app.supervisor.owns(h)) return app.supervisor;
    return undefined;
  }

  async stop(timeout: number): Promise<void> {
    this.stopping = true;
    const apps = [...this.live.values(), ...this.leaving];
    await Promise.all(apps.map((a) => a.supervisor.stop(timeout)));
    this.close();
  }

  async kill(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.live.values(), ...this.leaving].map((a) => a.supervisor.kill()));
    this.close();
  }

  close(): void {
    for (const app of [...this.live.values(), ...this.leaving]) app.socket.close();
  }
}
