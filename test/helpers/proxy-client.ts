/**
 * A PROXY protocol client (v1 and v2, haproxy.org/download/2.9/doc/proxy-protocol.txt),
 * written here rather than taken from the server, so the tests check the server
 * against the specification and not against itself.
 */
import net from 'node:net';

export function proxyV1(src: string, dst: string, sport: number, dport: number): Buffer {
  const proto = net.isIPv6(src) ? 'TCP6' : 'TCP4';
  return Buffer.from(`PROXY ${proto} ${src} ${dst} ${sport} ${dport}\r\n`, 'latin1');
}

export const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

function ipBytes(address: string): Buffer {
  if (net.isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  const [head, tail = ''] = address.split('::') as [string, string?];
  const h = head ? head.split(':') : [];
  const t = address.includes('::') && tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export interface V2Options {
  readonly src?: string;
  readonly dst?: string;
  readonly sport?: number;
  readonly dport?: number;
  /** LOCAL command: the proxy's own connection (a health check). */
  readonly local?: boolean;
  /** Add PP2_TYPE_SSL with PP2_CLIENT_SSL set. */
  readonly tls?: boolean;
}

export function proxyV2(opts: V2Options): Buffer {
  const header = Buffer.alloc(16);
  V2_SIGNATURE.copy(header);
  header[12] = opts.local ? 0x20 : 0x21;
  let body = Buffer.alloc(0);
  if (!opts.local) {
    const v6 = net.isIPv6(opts.src!);
    header[13] = v6 ? 0x21 : 0x11;
    const ports = Buffer.alloc(4);
    ports.writeUInt16BE(opts.sport!, 0);
    ports.writeUInt16BE(opts.dport!, 2);
    body = Buffer.concat([ipBytes(opts.src!), ipBytes(opts.dst!), ports]);
    if (opts.tls) {
      // type 0x20, length 5: client byte (PP2_CLIENT_SSL) + verify (uint32, 0 = verified)
      body = Buffer.concat([body, Buffer.from([0x20, 0x00, 0x05, 0x01, 0, 0, 0, 0])]);
    }
  }
  header.writeUInt16BE(body.length, 14);
  return Buffer.concat([header, body]);
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Everything received. */
  readonly raw: string;
}

export function parseResponse(raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const [statusLine, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body: end < 0 ? '' : raw.slice(end + 4), raw };
}

/**
 * Opens a connection, writes `chunks` (each as its own write), and resolves with all
 * that came back once the server closes the connection (requests should say
 * Connection: close), or with what came so far after `timeoutMs`.
 */
export function exchange(port: number, chunks: readonly (Buffer | string)[], timeoutMs = 10_000): Promise<{ raw: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let raw = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ raw, closed: false });
    }, timeoutMs);
    socket.on('data', (d) => (raw += d.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ raw, closed: true });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
    });
    socket.on('connect', () => {
      for (const chunk of chunks) socket.write(chunk);
    });
  });
}

/** A GET request line and head, with Connection: close. */
export function getRequest(path: string, headers: Record<string, string> = {}, host = 'localhost'): string {
  const lines = [`GET ${path} HTTP/1.1`, `Host: ${host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), 'Connection: close'];
  return lines.join('\r\n') + '\r\n\r\n';
}
