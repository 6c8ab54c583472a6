/**
 * A raw HTTP/1.1 client connection for the tests that need to send exactly the
 * bytes they mean (malformed bodies, trickled heads, half-closes) and see
 * exactly what comes back, and when the server closes.
 */
import net from 'node:net';

export class RawConnection {
  received = '';
  /** Resolves when the server has closed the connection (or it failed). */
  readonly closed: Promise<void>;
  private readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => (this.received += d.toString('latin1')));
    socket.on('error', () => {}); // a reset is a kind of close here; `closed` reports it
    // Not events.once: it would reject on the 'error' that comes with a reset.
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async open(port: number): Promise<RawConnection> {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    // Listening before the connection is up: a server may reset it at once (a full --max-connections).
    const connection = new RawConnection(socket);
    await new Promise<void>((resolve) => {
      socket.once('connect', resolve);
      void connection.closed.then(resolve);
    });
    return connection;
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Half-closes: FIN from our side, the server can still answer. */
  end(): void {
    this.socket.end();
  }

  /** Stops reading what the server sends (it piles up in the kernel's buffers), or starts again. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }

  get isClosed(): boolean {
    return this.socket.destroyed;
  }

  /** Resolves true once the server closed the connection, false after `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const result = await Promise.race([this.closed.then(() => true as const), timeout]);
    clearTimeout(timer);
    return result;
  }

  /** The status code of the first response received, if any. */
  get status(): number | undefined {
    const m = /^HTTP\/1\.1 (\d{3}) /.exec(this.received);
    return m ? Number(m[1]) : undefined;
  }
}

/** Sends `text` on a new connection and resolves with everything received until the server closed it. */
export async function exchange(port: number, text: string | Buffer, ms = 5000): Promise<string> {
  const c = await RawConnection.open(port);
  c.write(text);
  if (!(await c.closedWithin(ms))) {
    c.destroy();
    throw new Error(`the server did not close the connection within ${ms} ms; received:\n${c.received}`);
  }
  return c.received;
}
