/**
 * A process group's worker listens on the unix socket the master bound and lent
 * it (master/group-pools.ts). `server.listen(handle)` cannot take it: node:net
 * treats a handle that is not TCP as a file descriptor number and, in a cluster
 * worker, asks the master to listen on that number in its own process, which
 * is another descriptor there. A net.Server that already holds a handle is what
 * node:net makes of a server received over IPC: `_listen2` then only listens on
 * it (Node 20 to 26 alike).
 */
import type net from 'node:net';

type Listening = net.Server & {
  _handle: object | null;
  _listen2(address: null, port: number, addressType: number, backlog: number): void;
};

export function listenOnLentPipe(server: net.Server, handle: object, backlog: number, listening: () => void): void {
  const s = server as Listening;
  s.once('listening', listening);
  s._handle = handle;
  s._listen2(null, -1, -1, backlog);
}
