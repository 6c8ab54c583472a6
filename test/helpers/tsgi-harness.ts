/**
 * Runs a TSGI application behind a plain node:http server on 127.0.0.1 (port 0)
 * in the test process, with a RequestContext built the way the mount stage
 * would at '/', and a Log that records every call. Also raw-socket helpers for
 * what an HTTP client library would hide (truncation, pipelining, keep-alive).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Application } from '../../src/index.js';
import type { Level } from '../../src/logging/levels.js';
import { makeLog, type Log } from '../../src/logging/log.js';
import type { RequestContext } from '../../src/pipeline/context.js';
import type { ServerInfo } from '../../src/tsgi/environ.js';
import { fileWrapper } from '../../src/tsgi/file-wrapper.js';
import { createTsgiHandler } from '../../src/tsgi/handler.js';

export interface LogRecord {
  readonly level: Level;
  readonly message: string;
  readonly rid: string | undefined;
}

export interface FakeLog extends Log {
  readonly records: LogRecord[];
  errors(): string[];
}

export function fakeLog(): FakeLog {
  const records: LogRecord[] = [];
  const log = makeLog(
    (level, message, rid) => records.push({ level, message, rid }),
    () => {},
  );
  return Object.assign(log, {
    records,
    errors: () => records.filter((r) => r.level === 'error').map((r) => r.message),
  });
}

export interface Harness {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  readonly log: FakeLog;
  /** Ids given to requests so far, in arrival order. */
  readonly ids: string[];
  close(): Promise<void>;
}

export function serverInfo(overrides: Partial<ServerInfo> = {}): ServerInfo {
  return {
    multithread: false,
    multiprocess: false,
    extra: [],
    version: '0.1.0',
    scriptPath: '/test/app.ts',
    debugMode: false,
    fileWrapper,
    ...overrides,
  };
}

/** Starts a server running `app`; `app` may be swapped per test via the returned setter. */
export async function startTsgi(
  app: Application,
  opts: { debugMode?: boolean } = {},
): Promise<Harness> {
  const log = fakeLog();
  const debugMode = opts.debugMode ?? false;
  const handler = createTsgiHandler(app, { server: serverInfo({ debugMode }), log, debugMode });
  const ids: string[] = [];
  let n = 0;
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const id = `r${++n}`;
    ids.push(id);
    const ctx: RequestContext = {
      req,
      res,
      listener: { scheme: 'http', port: 0 },
      id,
      startMono: performance.now(),
      startUs: Date.now() * 1000,
      scriptName: '',
      pathInfo: decodeURIComponent(q < 0 ? url : url.slice(0, q)),
      queryString: q < 0 ? '' : url.slice(q + 1),
    };
    handler(ctx);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    log,
    ids,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Waits (bounded) until cond() holds; for log records written after the response. */
export async function until(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface RawResult {
  /** Everything received, as latin-1 text (bytes preserved one-to-one). */
  readonly text: string;
  /** How the connection ended: 'end' (FIN), 'error' (reset) or 'timeout' (still open). */
  readonly how: 'end' | 'error' | 'timeout';
}

/** Sends raw bytes and collects the reply until the server closes or `idleMs` of silence. */
export async function rawExchange(port: number, data: string | Buffer, idleMs = 500): Promise<RawResult> {
  const socket = net.connect(port, '127.0.0.1');
  const parts: Buffer[] = [];
  socket.on('data', (d) => parts.push(d));
  const how = await new Promise<RawResult['how']>((resolve) => {
    socket.setTimeout(idleMs, () => resolve('timeout'));
    socket.on('end', () => resolve('end'));
    socket.on('error', () => resolve('error'));
    socket.write(data);
  });
  socket.destroy();
  return { text: Buffer.concat(parts).toString('latin1'), how };
}

/** Resolves like `promise`, or rejects after `ms` (the timer never outlives the race). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
