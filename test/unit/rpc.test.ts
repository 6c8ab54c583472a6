// Correlated request/reply between master and workers (ipc/rpc.ts), both ends wired back to back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnswerMessage, AskMessage } from '../../src/ipc/messages.js';
import { answer, Asker, NoAnswer, type Answerers } from '../../src/ipc/rpc.js';

interface Qs {
  double: { ask: number; answer: number };
  later: { ask: undefined; answer: string };
  broken: { ask: undefined; answer: never };
}

function pair(table: Answerers<Qs, string>, deliver = true) {
  const asker: Asker<Qs> = new Asker<Qs>((m: AskMessage) => {
    if (deliver) answer(table, m, 'peer', (reply: AnswerMessage) => setImmediate(() => asker.settle(reply)));
    return true;
  });
  return asker;
}

const table: Answerers<Qs, string> = {
  double: (n) => n * 2,
  later: async (_body, from) => `from ${from}`,
  broken: () => {
    throw new Error('no such thing');
  },
};

describe('ask and answer', () => {
  it('matches each answer to its question, sync or async', async () => {
    const asker = pair(table);
    assert.deepEqual(await Promise.all([asker.ask('double', 21, 1000), asker.ask('later', undefined, 1000), asker.ask('double', 2, 1000)]), [42, 'from peer', 4]);
    assert.equal(asker.waiting, 0);
  });

  it('a handler that throws, or an unknown question, rejects the asker', async () => {
    const asker = pair(table);
    await assert.rejects(asker.ask('broken', undefined, 1000), (err: Error) => err instanceof NoAnswer && /no such thing/.test(err.message));
    await assert.rejects((asker as unknown as Asker<{ nope: { ask: undefined; answer: 1 } }>).ask('nope', undefined, 1000), /unknown question 'nope'/);
    await assert.rejects((asker as unknown as Asker<{ toString: { ask: undefined; answer: 1 } }>).ask('toString', undefined, 1000), /unknown question 'toString'/);
  });

  it('rejects after its timeout, and every pending question when the channel goes', async () => {
    const silent = pair(table, false);
    // The timeout does not keep a process alive by itself (a worker's or master's IPC channel does).
    const alive = setInterval(() => {}, 1000);
    await assert.rejects(silent.ask('double', 1, 30), /no answer to 'double' within 30 ms/);
    clearInterval(alive);
    const pending = silent.ask('double', 1, 0);
    silent.failAll('worker 123 exited');
    await assert.rejects(pending, /worker 123 exited/);
    const closed = new Asker<Qs>(() => false);
    await assert.rejects(closed.ask('double', 1, 0), /channel is closed/);
  });
});
