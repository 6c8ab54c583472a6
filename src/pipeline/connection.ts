/** Ending a connection without losing what was already written to it. */
import type { Socket } from 'node:net';

/** After our FIN, a client that sends nothing for this long is done: close. */
const LINGER_IDLE_MS = 2_000;
/** Destroys a socket whose writes never finish (client not reading) or that keeps sending, so an end cannot hang on. */
const LINGER_MAX_MS = 10_000;

const CLOSING = Symbol('tsgi-express.closing');

type Closing = Socket & { [CLOSING]?: true };

/** True once endConnection() ran on the socket: a request parsed from it now is one the client sent after our last word. */
export function isClosing(socket: Socket | null | undefined): boolean {
  return (socket as Closing | null | undefined)?.[CLOSING] === true;
}

/**
 * Ends the connection: what was written (and `last`, when given) still reaches
 * the client, then FIN. Destroying at once would discard writes Node has
 * corked for this tick, such as a pipelined response finished just before.
 *
 * Then it lingers, as Apache does: what the client still sends (the rest of a
 * body nobody will read) is read and dropped until it closes its side or goes
 * quiet for 2 s (10 s at most). Closing a socket with unread data makes the
 * kernel send a reset, which can destroy the answer before the client reads it.
 */
export function endConnection(socket: Socket, last?: string | Uint8Array): void {
  if (socket.destroyed) return;
  // Node 26 keeps a response's writes of this tick in the response itself until it
  // uncorks the socket on the next tick; ending the socket first would lose them.
  if (socket.writableCorked > 0) return void setImmediate(endConnection, socket, last);
  if ((socket as Closing)[CLOSING] === true) return;
  (socket as Closing)[CLOSING] = true;
  if (!socket.writableEnded) {
    if (last === undefined) socket.end();
    else socket.end(last);
  }
  const destroy = () => {
    clearTimeout(cap);
    clearInterval(idle);
    socket.destroy();
  };
  const cap = setTimeout(destroy, LINGER_MAX_MS).unref();
  let seen = socket.bytesRead;
  const idle = setInterval(() => {
    if (socket.writableFinished && socket.bytesRead === seen) destroy();
    seen = socket.bytesRead;
  }, LINGER_IDLE_MS).unref();
  socket.once('close', destroy);
  // The client closed its side too: nothing more will come once our writes are out.
  const whenWritten = () => (socket.writableFinished ? destroy() : socket.once('finish', destroy));
  if (socket.readableEnded) whenWritten();
  else socket.once('end', whenWritten);
  socket.resume();
}

/**
 * Makes Node's own close of this connection (after a response that said
 * `Connection: close`, through `destroySoon`) linger like endConnection().
 * For answers sent before the request body was read: 413, a failed body.
 */
export function lingerOnClose(socket: Socket): void {
  (socket as Socket & { destroySoon: () => void }).destroySoon = lingeringDestroySoon;
}

function lingeringDestroySoon(this: Socket): void {
  endConnection(this);
}
