/**
 * --proxy-protocol: the PROXY protocol (v1 text and v2 binary, as HAProxy, AWS NLB
 * and gunicorn's --proxy-protocol use it), read at the connection level, before
 * HTTP or TLS sees a byte. A connection from a --trust-proxy peer must start with
 * a valid preamble, else it is closed; a connection from any other peer is served
 * as it is, and a preamble from it is refused (400, then close), so it can never
 * set the client address.
 *
 * The preamble's source becomes the socket's remoteAddress/remotePort/remoteFamily
 * (own properties that shadow net.Socket's getters), so everything that reads the
 * socket (REMOTE_ADDR, Express's req.ip, Hono's getConnInfo, the trusted-header
 * rules) sees the client; peerAddress() keeps the proxy's own address (%{c}a).
 */
import { isIPv4, isIPv6, type Server, type Socket } from 'node:net';
import type { Log } from '../logging/log.js';
import { rawAnswer } from '../pipeline/raw-answer.js';
import { plainAddress, type TrustedProxies } from './trusted-proxies.js';

export interface ProxyEndpoint {
  readonly address: string;
  readonly port: number;
  readonly family: 'IPv4' | 'IPv6';
}

export interface ProxyHeader {
  readonly version: 1 | 2;
  /** Absent for LOCAL (v2) and UNKNOWN (v1) connections, the proxy's own health checks: the peer stays the client. */
  readonly source?: ProxyEndpoint;
  readonly destination?: ProxyEndpoint;
  /** v2 PP2_TYPE_SSL with PP2_CLIENT_SSL: the client spoke TLS to the proxy. */
  readonly tls: boolean;
}

export type ParseResult =
  | { readonly state: 'more' }
  | { readonly state: 'done'; readonly header: ProxyHeader; readonly length: number }
  | { readonly state: 'invalid'; readonly reason: string };

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** v1 lines are at most 107 bytes, CRLF included. */
const V1_MAX = 107;
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const MORE: ParseResult = { state: 'more' };

/** Whether `buf` is a prefix of `full` or starts with it. */
function agrees(buf: Buffer, full: Buffer): boolean {
  const n = Math.min(buf.length, full.length);
  return buf.subarray(0, n).equals(full.subarray(0, n));
}

/** What the first bytes of a connection are: a PROXY preamble, anything else, or too few bytes to say. */
export function classify(buf: Buffer): 'proxy' | 'other' | 'more' {
  const v1 = agrees(buf, V1_PREFIX);
  const v2 = agrees(buf, V2_SIGNATURE);
  if ((v1 && buf.length >= V1_PREFIX.length) || (v2 && buf.length >= V2_SIGNATURE.length)) return 'proxy';
  return v1 || v2 ? 'more' : 'other';
}

const invalid = (reason: string): ParseResult => ({ state: 'invalid', reason });

function port(text: string): number | undefined {
  return /^(0|[1-9]\d{0,4})$/.test(text) && Number(text) <= 65535 ? Number(text) : undefined;
}

function parseV1(buf: Buffer): ParseResult {
  const end = buf.indexOf('\r\n');
  if (end < 0) return buf.length >= V1_MAX ? invalid('a v1 header longer than 107 bytes') : MORE;
  if (end + 2 > V1_MAX) return invalid('a v1 header longer than 107 bytes');
  const words = buf.toString('latin1', 0, end).split(' ');
  if (words[1] === 'UNKNOWN') return { state: 'done', header: { version: 1, tls: false }, length: end + 2 };
  if (words.length !== 6) return invalid(`a malformed v1 header: ${JSON.stringify(buf.toString('latin1', 0, end))}`);
  const [, proto, src, dst, sport, dport] = words as [string, string, string, string, string, string];
  const isIP = proto === 'TCP4' ? isIPv4 : proto === 'TCP6' ? isIPv6 : undefined;
  const family = proto === 'TCP4' ? 'IPv4' : 'IPv6';
  const sp = port(sport);
  const dp = port(dport);
  if (isIP === undefined || !isIP(src) || !isIP(dst) || sp === undefined || dp === undefined) {
    return invalid(`a malformed v1 header: ${JSON.stringify(buf.toString('latin1', 0, end))}`);
  }
  return {
    state: 'done',
    length: end + 2,
    header: { version: 1, tls: false, source: { address: src, port: sp, family }, destination: { address: dst, port: dp, family } },
  };
}

function ipv6(buf: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(at + i).toString(16));
  // The canonical (compressed) spelling, as the socket reports IPv6 peers.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

const PP2_TYPE_SSL = 0x20;
const PP2_CLIENT_SSL = 0x01;

/** Whether the TLVs after the addresses hold PP2_TYPE_SSL with the client-used-TLS bit. */
function clientUsedTls(buf: Buffer, at: number, end: number): boolean {
  while (at + 3 <= end) {
    const type = buf[at]!;
    const length = buf.readUInt16BE(at + 1);
    if (type === PP2_TYPE_SSL && length >= 1 && at + 4 <= end) return (buf[at + 3]! & PP2_CLIENT_SSL) !== 0;
    at += 3 + length;
  }
  return false;
}

function parseV2(buf: Buffer): ParseResult {
  if (buf.length < 16) return MORE;
  const versionCommand = buf[12]!;
  if (versionCommand >> 4 !== 2) return invalid(`an unknown v2 version ${versionCommand >> 4}`);
  const command = versionCommand & 0x0f;
  if (command > 1) return invalid(`an unknown v2 command ${command}`);
  const length = 16 + buf.readUInt16BE(14);
  if (buf.length < length) return MORE;
  const done = (header: ProxyHeader): ParseResult => ({ state: 'done', header, length });
  const addressFamily = buf[13]! >> 4;
  // LOCAL, or an address family other than IPv4/IPv6 (UNSPEC, UNIX): the connection is the proxy's own.
  if (command === 0 || (addressFamily !== 1 && addressFamily !== 2)) return done({ version: 2, tls: false });
  const size = addressFamily === 1 ? 12 : 36;
  if (length - 16 < size) return invalid(`a v2 header too short for its addresses (${length - 16} bytes)`);
  const tls = clientUsedTls(buf, 16 + size, length);
  if (addressFamily === 1) {
    const ip = (at: number) => `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
    return done({
      version: 2, tls,
      source: { address: ip(16), port: buf.readUInt16BE(24), family: 'IPv4' },
      destination: { address: ip(20), port: buf.readUInt16BE(26), family: 'IPv4' },
    });
  }
  return done({
    version: 2, tls,
    source: { address: ipv6(buf, 16), port: buf.readUInt16BE(48), family: 'IPv6' },
    destination: { address: ipv6(buf, 32), port: buf.readUInt16BE(50), family: 'IPv6' },
  });
}

/** Parses a preamble at the start of `buf`: `more` until it is complete. */
export function parseProxyHeader(buf: Buffer): ParseResult {
  if (agrees(buf, V2_SIGNATURE) && buf.length >= V2_SIGNATURE.length) return parseV2(buf);
  if (agrees(buf, V1_PREFIX)) return buf.length < V1_PREFIX.length ? MORE : parseV1(buf);
  return agrees(buf, V2_SIGNATURE) ? MORE : invalid('no PROXY protocol header');
}

const PEER = Symbol('tsgi-express.proxyPeer');
/** A view of a socket (adapters/client-socket.ts) answers this with the socket itself. */
export const UNDERLYING_SOCKET = Symbol('tsgi-express.underlyingSocket');
const TLS = Symbol('tsgi-express.proxyTls');
const PREAMBLE_BYTES = Symbol('tsgi-express.preambleBytes');

interface Proxied extends Socket {
  [PEER]?: string;
  [TLS]?: boolean;
  [PREAMBLE_BYTES]?: number;
  _parent?: Proxied;
}

/** The peer of the TCP connection itself (the proxy, when a PROXY preamble named the client), `::ffff:` removed. */
export function peerAddress(view: Socket): string | undefined {
  const socket = (view as Socket & { [UNDERLYING_SOCKET]?: Socket })[UNDERLYING_SOCKET] ?? view;
  const s = socket as Proxied;
  const peer = s[PEER] ?? s._parent?.[PEER];
  if (peer !== undefined) return peer;
  return socket.remoteAddress === undefined ? undefined : plainAddress(socket.remoteAddress);
}

/**
 * The bytes of the connection that were its PROXY preamble (0 without one):
 * those read before the protocol took the socket and not put back. What the
 * client sent after them counts as its request (--header-timeout's rate).
 */
export function preambleBytes(socket: Socket): number {
  return (socket as Proxied)[PREAMBLE_BYTES] ?? 0;
}

/** Set once a server reads PROXY headers: until then no socket can carry one, and nothing is looked up. */
let inUse = false;

/** Whether a PROXY v2 preamble said the client reached the proxy over TLS. */
export function proxiedTls(socket: Socket): boolean {
  if (!inUse) return false;
  const s = socket as Proxied;
  return s[TLS] === true || s._parent?.[TLS] === true;
}

/** Makes the socket report the preamble's client (see the module comment). */
function present(socket: Proxied, source: ProxyEndpoint, peer: string, tls: boolean): void {
  socket[PEER] = peer;
  if (tls) socket[TLS] = true;
  Object.defineProperties(socket, {
    remoteAddress: { value: source.address, configurable: true },
    remotePort: { value: source.port, configurable: true },
    remoteFamily: { value: source.family, configurable: true },
  });
}

const REFUSAL = { status: 400, detail: 'A PROXY protocol header is accepted only from a trusted proxy (--trust-proxy).' };

/** Refuses (with the --error-document for 400, if any), then destroys a socket whose client does not read the refusal. */
function refuse(socket: Socket): void {
  const answer = rawAnswer(REFUSAL);
  if (answer instanceof Promise) void answer.then((bytes) => socket.end(bytes));
  else socket.end(answer);
  const timer = setTimeout(() => socket.destroy(), 10_000).unref();
  socket.once('close', () => clearTimeout(timer));
}

export interface ProxyProtocolOptions {
  readonly trusted: TrustedProxies;
  readonly log: Log;
  /** How long a connection may take to send its first bytes (the preamble); default: the server's headersTimeout. */
  readonly timeoutMs?: number;
}

/**
 * Reads the start of one connection, then hands it on (`pass`) with every byte
 * after the preamble still unread, or closes it. Runs before the protocol
 * (HTTP, or TLS, which picks up bytes a socket has buffered) takes the socket.
 */
export function readPreamble(socket: Socket, opts: ProxyProtocolOptions & { timeoutMs: number }, pass: () => void): void {
  const peer = plainAddress(socket.remoteAddress ?? '');
  const fromProxy = opts.trusted.listed(peer);
  let buffered: Buffer = Buffer.alloc(0);
  const finish = () => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
  };
  const timer = setTimeout(() => {
    finish();
    opts.log.info(`closed a connection from ${peer}: no ${fromProxy ? 'PROXY protocol header' : 'request'} within ${opts.timeoutMs} ms`);
    socket.destroy();
  }, opts.timeoutMs);
  const onEnd = () => {
    finish();
    socket.destroy();
  };
  const handOn = (rest: Buffer) => {
    (socket as Proxied)[PREAMBLE_BYTES] = buffered.length - rest.length;
    socket.pause();
    if (rest.length > 0) socket.unshift(rest);
    pass();
    // A tick later: a TLS listener's TLSSocket takes over the handle and reads what
    // was unshifted (the ClientHello that came with the header) as it starts; a
    // socket resumed before then emits those bytes to nobody, and the handshake hangs.
    process.nextTick(() => socket.resume());
  };
  const onData = (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    if (!fromProxy) {
      const kind = classify(buffered);
      if (kind === 'more') return;
      finish();
      if (kind === 'other') return handOn(buffered);
      opts.log.info(`400 for ${peer}: a PROXY protocol header from a peer that is not a trusted proxy (--trust-proxy)`);
      return refuse(socket);
    }
    const result = parseProxyHeader(buffered);
    if (result.state === 'more') return;
    finish();
    if (result.state === 'invalid') {
      opts.log.info(`closed a connection from trusted proxy ${peer}: it did not start with a valid PROXY protocol header (${result.reason})`);
      return void socket.destroy();
    }
    if (result.header.source) present(socket as Proxied, result.header.source, peer, result.header.tls);
    handOn(buffered.subarray(result.length));
  };
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('error', () => socket.destroy());
}

/**
 * Puts the PROXY protocol in front of a server: its 'connection' listeners (the
 * HTTP or TLS protocol) get each socket only after the preamble was read. Call it
 * once the server is built. For a TLS server the TLS socket reports the client too.
 */
export function acceptProxyProtocol(server: Server, opts: ProxyProtocolOptions): void {
  inUse = true;
  const listeners = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  const timeoutMs = opts.timeoutMs ?? ((server as Server & { headersTimeout?: number }).headersTimeout || 60_000);
  server.on('connection', (socket: Socket) => {
    readPreamble(socket, { ...opts, timeoutMs }, () => {
      for (const listener of listeners) listener.call(server, socket);
    });
  });
  // A TLS server's sockets are TLSSockets over the raw one; show them the same client.
  server.prependListener('secureConnection', (secure: Proxied) => {
    const raw = secure._parent;
    if (raw?.[PEER] === undefined) return;
    present(secure, { address: raw.remoteAddress!, port: raw.remotePort!, family: raw.remoteFamily as 'IPv4' | 'IPv6' }, raw[PEER], raw[TLS] === true);
  });
}
