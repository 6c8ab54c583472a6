/**
 * Typed messages between the master and its workers (over the cluster IPC
 * channel). Each message type has one handler on the receiving side.
 */
import type { Level } from '../logging/levels.js';

/** One error-log record, as a tuple to keep IPC batches small: [time ms, level, rid, text]. */
export type ErrorRecord = [time: number, level: Level | 'stdout' | 'stderr', rid: string, text: string];

export interface ReadyMessage {
  readonly t: 'ready';
  readonly port: number;
  /** The interface the module was called through: tsgi, fetch or node. */
  readonly kind: string;
  /** Local files (outside node_modules) the app loaded: what --reload-on-changes watches. */
  readonly files: readonly string[];
}

export interface LoadFailedMessage {
  readonly t: 'load-failed';
  /** The app's error with its source-mapped stack. */
  readonly error: string;
}

export interface LogMessage {
  readonly t: 'log';
  readonly errors: readonly ErrorRecord[];
  /** Access-log lines, each ending in a newline, already joined. */
  readonly access: string;
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
}

export type WorkerMessage = ReadyMessage | LoadFailedMessage | LogMessage | ListenerClosedMessage | BorrowSocketMessage;

export interface DrainMessage {
  readonly t: 'drain';
  /** Seconds in-flight requests may take before the worker exits anyway. */
  readonly timeout: number;
  readonly reason: 'reload' | 'shutdown';
}

export interface ListenerClosedAck {
  readonly t: 'listener-closed-ack';
}

/** The answer to borrow-socket; the listening socket travels with it as the IPC handle. */
export interface ListenSocketMessage {
  readonly t: 'listen-socket';
}

export type MasterMessage = DrainMessage | ListenerClosedAck | ListenSocketMessage;

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return typeof value === 'object' && value !== null && typeof (value as { t?: unknown }).t === 'string';
}
