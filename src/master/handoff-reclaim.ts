/**
 * Connections handed to a worker that is then killed outright.
 *
 * node:cluster's round-robin primary passes each new connection to a worker in a
 * `newconn` message and keeps its own copy of the socket open until the worker
 * answers; a refusal ("not accepted", what a closing worker says) sends the
 * connection to another worker. A worker killed without answering (SIGKILL, the
 * kernel's out-of-memory killer, our own kill of a wedged worker) would leave
 * that client waiting forever and the master holding its socket. So we note the
 * hand-offs a worker has not answered, and once it is gone we answer for it:
 * "not accepted" when another worker is serving, or we close the socket (the
 * client sees a reset) when none is, because the primary then has no one to
 * give it to.
 *
 * This relies on node:cluster's internal messages: {cmd: 'NODE_CLUSTER', act:
 * 'newconn', seq} with the socket out, {cmd: 'NODE_CLUSTER', ack: seq, accepted}
 * back, on the worker's ChildProcess. They are the same in Node 20, 22 and 24;
 * if they ever change, nothing here matches and the behaviour is Node's own.
 */
import type { Worker } from 'node:cluster';

interface Closable {
  close(): void;
}

interface ClusterMessage {
  cmd?: unknown;
  act?: unknown;
  seq?: unknown;
  ack?: unknown;
  accepted?: unknown;
}

function asCluster(message: unknown): ClusterMessage | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  return (message as ClusterMessage).cmd === 'NODE_CLUSTER' ? (message as ClusterMessage) : undefined;
}

type Send = (message: unknown, handle?: unknown, ...rest: unknown[]) => boolean;

/** How many times each connection was handed to a worker (any worker). */
const handoffs = new WeakMap<object, number>();

/**
 * A refused hand-off (ours below, or a closing worker's own) goes back to the
 * round-robin handle that sent it, which passes it to another of its workers.
 * But node:cluster closes that handle as soon as no worker listens on it (and
 * makes a new one for the next worker that does), and a connection refused back
 * to a closed handle is never handed again: the master holds it, its request
 * unread, for ever. Seen with two workers crashing in turn under load. A live
 * handle re-hands it at once or within milliseconds (workers acknowledge
 * hand-offs as soon as their event loop turns); one not handed again by this
 * deadline is closed, so that its client sees a reset rather than wait.
 */
const REHANDOFF_DEADLINE_MS = 2000;

function closeUnlessHandedAgain(handle: Closable): void {
  const before = handoffs.get(handle) ?? 0;
  setTimeout(() => {
    if ((handoffs.get(handle) ?? 0) === before) handle.close();
  }, REHANDOFF_DEADLINE_MS).unref();
}

/**
 * Watches `worker`'s hand-offs. `othersServing` is asked once the worker is
 * gone: can another worker still take connections?
 */
export function reclaimHandoffs(worker: Worker, othersServing: () => boolean): void {
  const proc = worker.process as unknown as { send: Send; on(event: 'internalMessage', fn: (m: unknown) => void): void };
  /** Hand-offs not yet answered: the connection, and its hand-off count when sent. */
  const pending = new Map<number, { handle: Closable; count: number }>();
  const send = proc.send;
  proc.send = function (message, handle, ...rest) {
    const m = asCluster(message);
    if (m?.act === 'newconn' && typeof m.seq === 'number' && handle) {
      const count = (handoffs.get(handle as object) ?? 0) + 1;
      handoffs.set(handle as object, count);
      pending.set(m.seq, { handle: handle as Closable, count });
    }
    return Reflect.apply(send, this, [message, handle, ...rest]) as boolean;
  };
  // Runs after node:cluster's own listener (registered at fork), which has
  // already passed a refused connection on, if its handle could.
  proc.on('internalMessage', (message) => {
    const m = asCluster(message);
    if (typeof m?.ack !== 'number') return;
    const sent = pending.get(m.ack);
    pending.delete(m.ack);
    if (sent && m.accepted === false && handoffs.get(sent.handle) === sent.count) closeUnlessHandedAgain(sent.handle);
  });
  // node:cluster takes a worker out of the rotation on 'disconnect', or on 'exit'
  // when its channel is already down, before the Worker emits either; acting only
  // when both are true means a refusal is never handed straight back to it. (With
  // a hand-off unanswered Node never emits 'disconnect': the channel waits for the
  // handle's ack, so 'exit' is where this runs.)
  const reclaim = () => {
    if (pending.size === 0 || !worker.isDead() || worker.isConnected()) return;
    const refuse = othersServing();
    for (const [seq, { handle }] of pending) {
      if (refuse) worker.process.emit('internalMessage', { cmd: 'NODE_CLUSTER', ack: seq, accepted: false });
      else handle.close();
    }
    pending.clear();
  };
  worker.once('exit', reclaim);
  worker.once('disconnect', reclaim);
}
