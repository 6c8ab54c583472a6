/**
 * THE master's table of worker messages: one handler per message type, built
 * once and registered once per worker (WorkerHandle's single 'message'
 * listener), as node:cluster's own primary maps each `act` to a function. A new
 * message is a type in ipc/messages.ts and a row here; a type without a row
 * does not compile.
 *
 * Questions a worker asks (`ask`) are answered from `answers`, one function per
 * question in MasterQuestions; the master's own questions come back as `answer`.
 */
import type { MasterQuestions, RecycleReason, WorkerMessage, WorkerStats } from '../ipc/messages.js';
import { answer, type Answerers } from '../ipc/rpc.js';
import type { ListeningSockets } from './listening-socket.js';
import type { LogWriter } from './log-writer.js';
import type { WorkerHandle, WorkerMessageSink } from './worker-handle.js';

export type WorkerMessageHandlers = {
  readonly [T in WorkerMessage['t']]: (from: WorkerHandle, message: Extract<WorkerMessage, { t: T }>, handle: unknown) => void;
};

/** What the master answers when a worker asks. */
export type MasterAnswers = Answerers<MasterQuestions, WorkerHandle>;

export interface WorkerMessageDeps {
  readonly logs: LogWriter;
  /** The listening socket the master lends to each worker, when it owns one. */
  readonly socket: ListeningSockets | undefined;
  readonly answers: MasterAnswers;
  /** A worker asks to be replaced (it reached a limit it counts itself). */
  recycle(from: WorkerHandle, reason: RecycleReason, detail: string): void;
  /** A worker's last stats, as it exits. */
  lastStats(from: WorkerHandle, stats: WorkerStats): void;
}

export function workerMessageHandlers(deps: WorkerMessageDeps): WorkerMessageHandlers {
  return {
    ready: (from, message) => from.readyMessage(message),
    'load-failed': (from, message) => from.loadFailed(message),
    // Acked once written: a worker sends no more than its window ahead (worker/log-batcher.ts).
    log: (from, message) => deps.logs.fromWorker(from.pid, message, () => from.send({ t: 'log-ack', size: message.size })),
    'borrow-socket': (from, message) => deps.socket?.lendTo(from.worker, message.listener),
    'listener-closed': (from) => {
      from.listenerClosed = true;
      from.send({ t: 'listener-closed-ack' });
    },
    recycle: (from, message) => deps.recycle(from, message.reason, message.detail),
    'last-stats': (from, message) => deps.lastStats(from, message.stats),
    ask: (from, message) => answer(deps.answers, message, from, (reply) => from.send(reply)),
    answer: (from, message) => from.settle(message),
  };
}

/** The sink every WorkerHandle gets: looks the message's type up in the table. */
export function dispatchTo(table: WorkerMessageHandlers): WorkerMessageSink {
  return (from, message, handle) => {
    if (!Object.hasOwn(table, message.t)) return; // not ours (or not a message at all)
    (table[message.t] as (f: WorkerHandle, m: WorkerMessage, h: unknown) => void)(from, message, handle);
  };
}
