/**
 * What the client gets when Node's parser rejects what it sent on a connection
 * (the 'clientError' event): an error status, then the connection is closed.
 * A response already on its way on that connection (pipelining, a stream) is
 * finished first, as Apache does; writing the error into it would corrupt it.
 * Also the answer to CONNECT, which never becomes a request.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { endConnection } from '../pipeline/connection.js';

const reply = (status: string) => `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;

/** The answer to a parse error; undefined: none. Oversized headers get 400, as in Apache. */
function replyFor(code: string | undefined): string | undefined {
  switch (code) {
    case 'HPE_CLOSED_CONNECTION': // bytes after a request that said Connection: close: ignored
      return undefined;
    case 'ERR_HTTP_REQUEST_TIMEOUT': // the headers or body did not arrive within Node's timeouts
      return reply('408 Request Timeout');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return reply('413 Payload Too Large');
    default:
      return reply('400 Bad Request');
  }
}

/** Sockets already being closed: a parser in error may report again on more data. */
const closing = new WeakSet<Socket>();

export function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (closing.has(socket)) return;
  if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  closing.add(socket);
  const last = replyFor(err.code);
  // Node keeps the response being written on the socket it writes to.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!inFlight || inFlight.writableEnded) return endConnection(socket, last);
  inFlight.once('close', () => (inFlight.writableFinished ? endConnection(socket, last) : socket.destroy()));
}

/** CONNECT (the 'connect' event): an origin server does not tunnel. Without a listener Node closes silently. */
export function onConnect(_req: unknown, socket: Socket): void {
  endConnection(socket, reply('405 Method Not Allowed'));
}
