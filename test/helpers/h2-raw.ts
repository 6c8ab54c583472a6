/**
 * A raw HTTP/2 connection (h2c with prior knowledge, or TLS with ALPN h2) for
 * what no well-behaved client does: a header block trickled a byte at a time,
 * a session that opens and says nothing. It writes frames byte for byte and
 * reads the frame headers the server sends back (answering its SETTINGS, as
 * RFC 9113 requires), so a test sees the GOAWAY and when the server closes.
 * Header blocks are HPACK literals without Huffman coding, enough for a test.
 */
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7 } as const;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const ACK = 0x1;

export interface ReceivedFrame {
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
  readonly payload: Buffer;
}

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an n-bit prefix (RFC 7541 5.1), first byte or'ed with `mask`. */
function hpackInt(value: number, bits: number, mask: number): number[] {
  const max = (1 << bits) - 1;
  if (value < max) return [mask | value];
  const out = [mask | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  return Buffer.concat([Buffer.from(hpackInt(bytes.length, 7, 0)), bytes]);
}

/** A header block: each field a literal without indexing, new name (RFC 7541 6.2.2). */
export function headerBlock(fields: readonly [string, string][]): Buffer {
  return Buffer.concat(fields.map(([name, value]) => Buffer.concat([Buffer.from([0]), hpackString(name), hpackString(value)])));
}

export class RawH2 {
  readonly frames: ReceivedFrame[] = [];
  readonly closed: Promise<void>;
  private buffered = Buffer.alloc(0);

  private constructor(private readonly socket: net.Socket) {
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => this.read(d));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /**
   * Connects, sends the preface and an empty SETTINGS frame, and waits for the
   * server's SETTINGS (acknowledged at once: an ACK sent later could land inside
   * a frame the test is trickling). `ca`: over TLS (ALPN h2), trusting it.
   */
  static async open(port: number, ca?: Buffer): Promise<RawH2> {
    const socket = ca
      ? tls.connect({ port, host: '127.0.0.1', ca, servername: 'localhost', ALPNProtocols: ['h2'] })
      : net.connect(port, '127.0.0.1');
    await once(socket, ca ? 'secureConnect' : 'connect');
    socket.setNoDelay(true);
    const h2 = new RawH2(socket);
    h2.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
    await h2.waitFrame((f) => f.type === FRAME.SETTINGS && (f.flags & ACK) === 0);
    return h2;
  }

  write(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** A complete request without a body on `stream` (odd, rising). */
  request(stream: number, fields: readonly [string, string][]): void {
    this.write(this.headersFrame(stream, fields));
  }

  /** The bytes of a HEADERS frame (END_HEADERS, END_STREAM): to send at once, or trickled. */
  headersFrame(stream: number, fields: readonly [string, string][]): Buffer {
    return frame(FRAME.HEADERS, END_HEADERS | END_STREAM, stream, headerBlock(fields));
  }

  /** Writes `bytes`, `size` at a time every `everyMs`, until sent or the connection closes. */
  async trickle(bytes: Buffer, everyMs: number, size = 1): Promise<void> {
    for (let i = 0; i < bytes.length && !this.socket.destroyed; i += size) {
      this.write(bytes.subarray(i, i + size));
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }

  get isClosed(): boolean {
    return this.socket.destroyed;
  }

  /** Resolves true once the server closed the connection, false after `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const result = await Promise.race([this.closed.then(() => true), late]);
    clearTimeout(timer);
    return result;
  }

  /** Resolves once a frame matching `test` has arrived (or rejects after `ms`). */
  async waitFrame(test: (f: ReceivedFrame) => boolean, ms = 5000): Promise<ReceivedFrame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.frames.find(test);
      if (found) return found;
      if (Date.now() > deadline || this.socket.destroyed) throw new Error(`no such frame; got types ${this.frames.map((f) => f.type).join(',')}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  private read(data: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, data]);
    while (this.buffered.length >= 9) {
      const length = this.buffered.readUIntBE(0, 3);
      if (this.buffered.length < 9 + length) return;
      const f: ReceivedFrame = {
        type: this.buffered[3]!,
        flags: this.buffered[4]!,
        stream: this.buffered.readUInt32BE(5) & 0x7fffffff,
        payload: this.buffered.subarray(9, 9 + length),
      };
      this.buffered = this.buffered.subarray(9 + length);
      this.frames.push(f);
      if (f.type === FRAME.SETTINGS && (f.flags & ACK) === 0) this.write(frame(FRAME.SETTINGS, ACK, 0));
    }
  }
}
