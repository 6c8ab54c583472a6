/**
 * HTTP/2 with prior knowledge (h2c) on the plain port, beside HTTP/1.1, as
 * Apache's `Protocols h2c http/1.1`: the first bytes of a connection decide.
 * A client that knows the server speaks HTTP/2 opens with the 24-byte
 * connection preface (RFC 9113 3.4), which no HTTP/1.1 request can start
 * with; anything else goes to the HTTP/1.1 engine. The bytes read to decide
 * are put back, so whichever engine takes the connection reads them again.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Whether `seen` is the preface (true), cannot become it (false), or is too short to tell (undefined). */
export function prefaceMatch(seen: Buffer): boolean | undefined {
  const n = Math.min(seen.length, PREFACE.length);
  if (seen.compare(PREFACE, 0, n, 0, n) !== 0) return false;
  return n === PREFACE.length ? true : undefined;
}

/**
 * Makes the HTTP/1.1 engine's plain connections wait for their first bytes:
 * those with the preface go to `http2`; the others, and every TLS connection
 * (its ALPN already decided), to Node's own HTTP/1.1 connection handling.
 * Returns the sockets still deciding, so a drain can close them.
 */
export function routeByPreface(http1: Server, http2: (socket: Socket) => void): Set<Socket> {
  const [http1Listener] = http1.listeners('connection') as ((socket: Socket) => void)[];
  if (http1Listener === undefined) throw new Error('node:http Server has no connection listener');
  http1.removeListener('connection', http1Listener);
  const deciding = new Set<Socket>();
  http1.on('connection', (socket: Socket) => {
    if ((socket as Socket & { encrypted?: boolean }).encrypted) return http1Listener.call(http1, socket);
    deciding.add(socket);
    let seen: Buffer = Buffer.alloc(0);
    // As long as Node gives a request's head (headersTimeout): a client that connects and sends nothing.
    const timer = setTimeout(() => socket.destroy(), http1.headersTimeout || 60_000);
    const decide = (isHttp2: boolean) => {
      clearTimeout(timer);
      deciding.delete(socket);
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      socket.pause();
      if (seen.length > 0) socket.unshift(seen);
      if (isHttp2) return http2(socket); // the session reads what is buffered itself
      http1Listener.call(http1, socket);
      socket.resume(); // the parser reads the buffered bytes first, then the connection
    };
    const onData = (chunk: Buffer) => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const match = prefaceMatch(seen);
      if (match !== undefined) decide(match);
    };
    const onClose = () => {
      clearTimeout(timer);
      deciding.delete(socket);
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.on('error', () => {}); // a reset while deciding: that connection's end only
  });
  return deciding;
}
