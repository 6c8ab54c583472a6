/**
 * --max-connections: at most that many connections of this worker are served at
 * once. A connection past the limit is accepted but left unread, as if it still
 * waited in the listen backlog, and is taken when one of the served ones closes,
 * in arrival order; at most `waiting` (--server-backlog) wait, more are closed as a
 * full backlog would refuse them. (node:net's own maxConnections closes the extra
 * connections at once; with node:cluster it makes a full worker bounce each
 * connection back to the master, which hands it straight back when every worker
 * is full.)
 *
 * The gate stands in front of the server's own 'connection' listeners: Node's
 * HTTP parser is attached only when a connection is let through.
 */
import type { Server, Socket } from 'node:net';
import type { Log } from '../logging/log.js';
import { clientAddress } from '../pipeline/request-view.js';

type Listener = (socket: Socket) => void;

interface Parked {
  readonly socket: Socket;
  readonly admit: () => void;
}

const ignore = (): void => {};

export class ConnectionGate {
  private served = 0;
  private readonly parked: Parked[] = [];
  private open = false;

  constructor(
    private readonly max: number,
    private readonly waiting: number,
    private readonly log: Log,
  ) {}

  /** Puts the gate in front of every 'connection' listener `server` has now. */
  watch(server: Server): void {
    const listeners = server.listeners('connection') as Listener[];
    server.removeAllListeners('connection');
    const admit = (socket: Socket) => {
      for (const listener of listeners) listener.call(server, socket);
    };
    server.on('connection', (socket: Socket) => this.arrive(socket, () => admit(socket)));
  }

  /** Lets every waiting connection through, and every later one: the worker is draining and takes no new ones. */
  openAll(): void {
    this.open = true;
    for (const p of this.parked.splice(0)) this.take(p);
  }

  get waitingCount(): number {
    return this.parked.length;
  }

  private arrive(socket: Socket, admit: () => void): void {
    if (this.open || this.served < this.max) return this.take({ socket, admit });
    if (this.parked.length >= this.waiting) {
      this.log.info(
        `connection closed unread: --max-connections ${this.max} reached and ${this.waiting} already waiting (client ${clientAddress(socket.remoteAddress)})`,
      );
      return void socket.destroy();
    }
    // Until it is taken, a reset from the client must not be an uncaught error.
    socket.on('error', ignore);
    const parked: Parked = { socket, admit };
    this.parked.push(parked);
    socket.once('close', () => {
      const at = this.parked.indexOf(parked);
      if (at >= 0) this.parked.splice(at, 1);
    });
  }

  private take(p: Parked): void {
    p.socket.off('error', ignore);
    if (p.socket.destroyed) return;
    this.served++;
    p.socket.once('close', () => {
      this.served--;
      this.next();
    });
    p.admit();
  }

  private next(): void {
    while (this.served < this.max && this.parked.length > 0) this.take(this.parked.shift()!);
  }
}
