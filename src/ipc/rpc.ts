/**
 * Correlated request/reply over the IPC channel, used by both sides: the master
 * asks a worker for its stats (the heartbeat), a worker asks the master about
 * the pool. Each question carries an id; the answer carries it back. A question
 * not answered in time rejects, and so do all pending ones when the channel goes.
 */
import type { AnswerMessage, AskMessage } from './messages.js';

/** What is sent with question Q of the question map Qs, and what comes back. */
export type AskOf<Qs, Q extends keyof Qs> = Qs[Q] extends { ask: infer A } ? A : never;
export type AnswerOf<Qs, Q extends keyof Qs> = Qs[Q] extends { answer: infer R } ? R : never;

/** Why a question got no answer. */
export class NoAnswer extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoAnswer';
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
}

/** The asking side: questions in flight, by id. */
export class Asker<Qs> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /** `send` returns false when the message could not be sent (the channel is closed). */
  constructor(private readonly send: (message: AskMessage) => boolean) {}

  get waiting(): number {
    return this.pending.size;
  }

  /** Rejects with NoAnswer after `timeoutMs` (0: waits as long as the channel lives). */
  ask<Q extends keyof Qs & string>(q: Q, body: AskOf<Qs, Q>, timeoutMs: number): Promise<AnswerOf<Qs, Q>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.pending.delete(id);
              reject(new NoAnswer(`no answer to '${q}' within ${timeoutMs} ms`));
            }, timeoutMs)
          : undefined;
      timer?.unref();
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      const message: AskMessage = body === undefined ? { t: 'ask', id, q } : { t: 'ask', id, q, body };
      if (!this.send(message)) this.settle({ t: 'answer', id, error: `cannot ask '${q}': the channel is closed` });
    });
  }

  /** An answer arrived. Late answers (after a timeout) are dropped. */
  settle(message: AnswerMessage): void {
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.error !== undefined) pending.reject(new NoAnswer(message.error));
    else pending.resolve(message.body);
  }

  /** The channel closed: nothing pending can be answered any more. */
  failAll(why: string): void {
    for (const id of [...this.pending.keys()]) this.settle({ t: 'answer', id, error: why });
  }
}

/** The answering side: one function per question. `from` says who asked (the master passes the worker). */
export type Answerers<Qs, From> = {
  readonly [Q in keyof Qs]: (body: AskOf<Qs, Q>, from: From) => AnswerOf<Qs, Q> | Promise<AnswerOf<Qs, Q>>;
};

/** Answers one question from `table`; an unknown question or a handler that throws answers with an error. */
export function answer<Qs, From>(
  table: Answerers<Qs, From>,
  message: AskMessage,
  from: From,
  reply: (message: AnswerMessage) => void,
): void {
  const fn = (table as Record<string, ((body: unknown, from: From) => unknown) | undefined>)[message.q];
  if (typeof fn !== 'function' || !Object.hasOwn(table, message.q)) {
    reply({ t: 'answer', id: message.id, error: `unknown question '${message.q}'` });
    return;
  }
  const fail = (err: unknown) =>
    reply({ t: 'answer', id: message.id, error: err instanceof Error ? err.message : String(err) });
  try {
    Promise.resolve(fn(message.body, from)).then((body) => reply({ t: 'answer', id: message.id, body }), fail);
  } catch (err) {
    fail(err);
  }
}
