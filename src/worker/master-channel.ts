/**
 * The worker's end of the IPC channel: send a message, ask the master a
 * question and await its answer (correlated request/reply), and one table of
 * handlers for everything the master sends, registered once.
 */
import type { MasterMessage, MasterQuestions, WorkerMessage } from '../ipc/messages.js';
import { isMasterMessage } from '../ipc/messages.js';
import { Asker, type AnswerOf, type AskOf } from '../ipc/rpc.js';

/** Sends to the master; `done` runs once the message has left (or at once without a channel). */
export function send(message: WorkerMessage, done?: () => void): boolean {
  if (!process.connected) {
    done?.();
    return false;
  }
  process.send!(message, undefined, {}, () => done?.());
  return true;
}

const asker = new Asker<MasterQuestions>((message) => send(message));
process.once('disconnect', () => asker.failAll('the master is gone'));

/** Asks the master; rejects with NoAnswer when it does not answer within `timeoutMs`. */
export function askMaster<Q extends keyof MasterQuestions & string>(
  q: Q,
  body: AskOf<MasterQuestions, Q>,
  timeoutMs = 10_000,
): Promise<AnswerOf<MasterQuestions, Q>> {
  return asker.ask(q, body, timeoutMs);
}

export type MasterMessageHandlers = {
  readonly [T in Exclude<MasterMessage['t'], 'answer'>]: (message: Extract<MasterMessage, { t: T }>, handle: unknown) => void;
};

/**
 * Registers the worker's table: each message from the master goes to the row for
 * its type. Answers to the worker's own questions (askMaster) are settled here.
 */
export function listenToMaster(handlers: MasterMessageHandlers): void {
  process.on('message', (message: unknown, handle: unknown) => {
    if (!isMasterMessage(message)) return;
    if (message.t === 'answer') return asker.settle(message);
    if (!Object.hasOwn(handlers, message.t)) return; // node:cluster's own messages never get here; anything else is ignored
    (handlers[message.t] as (m: MasterMessage, h: unknown) => void)(message, handle);
  });
}
