/** Ending a connection without losing what was already written to it. */
import type { Socket } from 'node:net';

/** Destroys a socket whose writes never finish (client not reading), so an end cannot hang on. */
const FLUSH_MS = 10_000;

/**
 * Ends the connection: what was written (and `last`, when given) still reaches
 * the client, then FIN. Destroying at once would discard writes Node has
 * corked for this tick, such as a pipelined response finished just before.
 */
export function endConnection(socket: Socket, last?: string): void {
  if (socket.destroyed) return;
  // Node 26 keeps a response's writes of this tick in the response itself until it
  // uncorks the socket on the next tick; ending the socket first would lose them.
  if (socket.writableCorked > 0) return void setImmediate(endConnection, socket, last);
  if (last === undefined) socket.end();
  else socket.end(last);
  const timer = setTimeout(() => socket.destroy(), FLUSH_MS).unref();
  socket.once('finish', () => {
    clearTimeout(timer);
    socket.destroy();
  });
}
