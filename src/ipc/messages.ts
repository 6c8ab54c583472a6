/**
 * Typed messages between the master and its workers (over the cluster IPC
 * channel). Each message type has one handler on the receiving side: the
 * master's table is master/worker-messages.ts, the worker's worker/main.ts
 * (`fromMaster`). Adding a type here without its handler is a type error there.
 *
 * Questions (`ask`, answered by `answer`) are correlated request/reply messages:
 * `WorkerQuestions` are what the master may ask a worker, `MasterQuestions` what
 * a worker may ask the master. A new question is one row in one of those
 * interfaces and one entry in the answering side's table.
 */
import type { ListenerName } from '../config/listeners.js';
import type { Level } from '../logging/levels.js';
import type { RequestCounts } from './request-counts.js';

/**
 * One error-log record, as a tuple to keep IPC batches small: [time ms, level,
 * rid, text], then, only when --error-log-format asks for them, the client's
 * `address:port` (%a) and the `file:line` that logged it (%F).
 */
export type ErrorRecord = [
  time: number,
  level: Level | 'stdout' | 'stderr',
  rid: string,
  text: string,
  client?: string,
  location?: string,
];

export interface ReadyMessage {
  readonly t: 'ready';
  readonly port: number;
  /** The interface the module was called through: tsgi, fetch or node. */
  readonly kind: string;
  /** The same for each of Config.apps (--mount-app), in order. */
  readonly appKinds?: readonly string[];
  /** Local files (outside node_modules) the app loaded: what --reload-on-changes watches. */
  readonly files: readonly string[];
  /** Its resident set size once the app has loaded, bytes: its start-up size. */
  readonly rss: number;
  /** --enable-debugger: the inspector's WebSocket URL, for the banner. */
  readonly inspector?: string;
}

export interface LoadFailedMessage {
  readonly t: 'load-failed';
  /** The app's error with its source-mapped stack. */
  readonly error: string;
  /** A usage error found only by loading (an --auth-user-script without its export): exit 2, not 3. */
  readonly usage?: boolean;
}

export interface LogMessage {
  readonly t: 'log';
  readonly errors: readonly ErrorRecord[];
  /** Access-log lines, each ending in a newline, already joined. */
  readonly access: string;
  /** What this batch counts against the worker's window (worker/log-batcher.ts); the master acks it with log-ack. */
  readonly size: number;
  /** Lines the worker dropped since its last batch because its log queue was full: [error log, access log]. */
  readonly dropped?: readonly [number, number];
}

/**
 * The worker has closed its listener, draining or crashing; it exits only after
 * the master's ack (why: ListenerRelease in worker/drain.ts).
 */
export interface ListenerClosedMessage {
  readonly t: 'listener-closed';
}

/** The worker is ready to listen and asks for the socket the master owns (master/listening-socket.ts). */
export interface BorrowSocketMessage {
  readonly t: 'borrow-socket';
  /** Which listener's socket (config/listeners.ts). */
  readonly listener: ListenerName;
}

/** Why a worker is recycled: mod_wsgi's names for its daemon-process restarts. */
export type RecycleReason = 'maximum_requests' | 'restart_interval' | 'inactivity_timeout' | 'cpu_time_limit' | 'memory_limit';

/** The worker reached a limit it counts itself (--maximum-requests) and asks to be replaced. */
export interface RecycleMessage {
  readonly t: 'recycle';
  readonly reason: RecycleReason;
  readonly detail: string;
}

/** A correlated question; the other side replies with an AnswerMessage of the same id. */
export interface AskMessage {
  readonly t: 'ask';
  readonly id: number;
  readonly q: string;
  readonly body?: unknown;
}

export interface AnswerMessage {
  readonly t: 'answer';
  readonly id: number;
  readonly body?: unknown;
  /** Set instead of body when the question failed (unknown question, a handler that threw). */
  readonly error?: string;
}

/** A draining worker's last stats, sent just before it exits, so that no request it served goes uncounted. */
export interface LastStatsMessage {
  readonly t: 'last-stats';
  readonly stats: WorkerStats;
}

export type WorkerMessage =
  | LastStatsMessage
  | ReadyMessage
  | LoadFailedMessage
  | LogMessage
  | ListenerClosedMessage
  | BorrowSocketMessage
  | RecycleMessage
  | AskMessage
  | AnswerMessage;

export interface DrainMessage {
  readonly t: 'drain';
  /** Seconds in-flight requests may take before the worker exits anyway. */
  readonly timeout: number;
  readonly reason: 'reload' | 'shutdown' | 'recycle';
}

export interface ListenerClosedAck {
  readonly t: 'listener-closed-ack';
}

/** The answer to borrow-socket; the listening socket travels with it as the IPC handle. */
export interface ListenSocketMessage {
  readonly t: 'listen-socket';
  readonly listener: ListenerName;
}

/** A password file changed and the master checked the new text: use it from now on (master/auth-service.ts). */
export interface AuthFilesMessage {
  readonly t: 'auth-files';
  readonly userFile?: string;
  readonly digestFile?: string;
}

/**
 * Where the server as a whole is (what --health-check-path answers): starting until
 * the first generation is ready, serving, stopping from SIGTERM on. A worker forked
 * later learns it from its environment (TSGI_EXPRESS_PHASE).
 */
export interface PhaseMessage {
  readonly t: 'phase';
  readonly phase: ServerPhase;
}

export type ServerPhase = 'starting' | 'serving' | 'stopping';

/** The master has written (or given up on) a log batch of `size`: the worker may send that much more. */
export interface LogAckMessage {
  readonly t: 'log-ack';
  readonly size: number;
}

/** What every worker needs from the master for access control: the Digest key and the password files' current text. */
export interface AuthState {
  /** base64 of the key Digest nonces are signed with (the same in every worker and generation). */
  readonly key: string;
  readonly userFile?: string;
  readonly digestFile?: string;
}

/** The master's ledger's answer on a Digest (nonce, nc) pair (master/auth-nonce-ledger.ts). */
export type NonceClaim = 'fresh' | 'replayed' | 'stale';

/** The certificate pair and session-ticket keys every worker's HTTPS listener uses (master/tls-state.ts). */
export interface TlsMaterial {
  /** PEM: the certificate, then its chain. */
  readonly cert: string;
  readonly key: string;
  /** 48 bytes, base64. */
  readonly ticketKeys: string;
}

/** The certificate was renewed, or the ticket keys replaced: what changed. */
export interface TlsUpdateMessage extends Partial<TlsMaterial> {
  readonly t: 'tls-update';
}

export type MasterMessage =
  | PhaseMessage
  | DrainMessage
  | ListenerClosedAck
  | ListenSocketMessage
  | LogAckMessage
  | AskMessage
  | AnswerMessage
  | AuthFilesMessage
  | TlsUpdateMessage;

/** What a worker says about itself when the master asks (every tick: it is also the heartbeat). */
export interface WorkerStats {
  /** Requests whose response has closed. */
  readonly requests: number;
  /** Requests in the application now, and waiting for a --threads slot. */
  readonly inFlight: number;
  readonly queued: number;
  /** Requests answered 504, or cut off, by --request-timeout. */
  readonly requestTimeouts: number;
  /** Requests answered 503 after waiting --queue-timeout for a --threads slot. */
  readonly queueTimeouts: number;
  /** Every response by method and status class, and their durations (with --server-status or metrics). */
  readonly counts?: RequestCounts;
  /** The request running longest now (with --request-timeout): what the worker is busy with. */
  readonly oldestRequest?: { readonly method: string; readonly target: string; readonly seconds: number };
  /** Event-loop delay over the last few seconds, milliseconds (with --server-status or metrics). */
  readonly eventLoopDelay?: { readonly mean: number; readonly p99: number; readonly max: number };
  /** Milliseconds since a request (outside --ignore-activity) last started or ended; 0 while one runs. Only with --inactivity-timeout. */
  readonly idleMs: number;
  /** Resident set size, bytes. */
  readonly rss: number;
  /** CPU time used by the process, seconds (user + system). */
  readonly cpuSeconds: number;
}

/** One worker as the master sees it (the answer to a worker's `pool` question). */
export interface WorkerReport {
  readonly pid: number;
  readonly generation: number;
  readonly state: string;
  /** Seconds since it was forked. */
  readonly age: number;
  /** Its answer to the master's last heartbeat, if any yet. */
  readonly stats?: WorkerStats;
  /** Set while it is being recycled. */
  readonly recycling?: RecycleReason;
  /** Set when it was started to replace a recycled worker: that worker and why it was recycled. */
  readonly replaced?: { readonly pid: number; readonly reason: RecycleReason };
}

/** The whole server's counts since the master started: living workers' plus those that have left. */
export interface PoolTotals {
  readonly requests: number;
  readonly queueTimeouts: number;
  readonly requestTimeouts: number;
  /** With --server-status or metrics. */
  readonly counts?: RequestCounts;
}

/** The master's view of the whole pool: what a status page or metrics endpoint shows. */
export interface PoolReport {
  readonly masterPid: number;
  /** Seconds since the master started. */
  readonly uptime: number;
  readonly generation: number;
  /** Workers the master keeps running (--processes, changed by SIGTTIN/SIGTTOU). */
  readonly target: number;
  readonly workers: readonly WorkerReport[];
  /** Workers recycled, by reason. */
  readonly recycles: Readonly<Record<RecycleReason, number>>;
  /** Serving workers that died and were replaced (crashed), or were killed for not answering (deadlock_timeout). */
  readonly restarts: Readonly<Record<'crashed' | 'deadlock_timeout', number>>;
  /** Workers that failed to start (after the first generation). */
  readonly startFailures: number;
  readonly totals: PoolTotals;
  /** Requests served per second over the last 10 s or so. */
  readonly requestsPerSecond: number;
  /** The server's phase (what --health-check-path answers). */
  readonly phase: ServerPhase;
  readonly version: string;
  /** The process groups' pools besides the main one: --mount-app's groups, then the pattern mounts' running sites. */
  readonly groups?: readonly GroupPoolReport[];
}

/** A process group's pool in the report (its uptime: since the group started). */
export interface GroupPoolReport extends Omit<PoolReport, 'groups'> {
  readonly name: string;
  /** `group`: a --mount-app (or config file) group, there from the start; `pattern`: a --mount-app-match site, started on demand. */
  readonly kind: 'group' | 'pattern';
  readonly threads: number;
}

/** Questions the master asks a worker: name -> what is sent and what comes back. */
export interface WorkerQuestions {
  stats: { ask: undefined; answer: WorkerStats };
  /** --enable-profiler, on SIGUSR2: write the CPU profile so far; the answer is the file written. */
  'cpu-profile': { ask: undefined; answer: string };
}

/** Questions a worker asks the master. */
export interface MasterQuestions {
  pool: { ask: undefined; answer: PoolReport };
  /** Access control (master/auth-service.ts): the key and the password files, at start. */
  'auth-state': { ask: undefined; answer: AuthState };
  /** Access control: has this Digest (nonce, nc) pair been accepted before, on any worker? */
  'auth-claim': { ask: { nonce: string; nc: string; issuedAt: number }; answer: NonceClaim };
  /** The HTTPS listener's certificate and ticket keys, asked for when a worker starts. */
  tls: { ask: undefined; answer: TlsMaterial };
  /** A pattern mount's app (master/match-apps.ts): its group's socket once it serves, started if need be. */
  'match-app': { ask: { script: string; mount: string }; answer: MatchAppAnswer };
}

/** Where a pattern app serves, or the status its request gets (500: it failed to load; 503: not now). */
export type MatchAppAnswer =
  | { readonly socketPath: string; readonly group: string }
  | { readonly status: 500 | 503; readonly detail: string; readonly retryAfter?: number };

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return typeof value === 'object' && value !== null && typeof (value as { t?: unknown }).t === 'string';
}

export const isMasterMessage = isWorkerMessage as (value: unknown) => value is MasterMessage;
