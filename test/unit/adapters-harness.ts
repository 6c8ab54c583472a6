/**
 * Serves one AppHandler from a plain node:http server on 127.0.0.1, with the
 * host-check, header-filter and mount stages in front as in a worker, so adapter tests run
 * through real sockets without the CLI. Records what the handler logs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { makeLog, type Log } from '../../src/logging/log.js';
import type { AppHandler, RequestContext } from '../../src/pipeline/context.js';
import { headerFilter } from '../../src/pipeline/header-filter.js';
import { hostCheck } from '../../src/pipeline/host-check.js';
import { mountStage } from '../../src/pipeline/mount.js';
import type { ServerInfo } from '../../src/tsgi/environ.js';
import type { InterfaceOptions } from '../../src/adapters/options.js';

export interface Harness {
  readonly url: string;
  readonly logged: string[];
  readonly opts: InterfaceOptions;
  close(): Promise<void>;
}

export function testServerInfo(): ServerInfo {
  return {
    multithread: true,
    multiprocess: false,
    extra: [['FROM_SETENV', 'yes']],
    version: 'test',
    scriptPath: '/app/test.ts',
    debugMode: false,
    fileWrapper: () => {
      throw new Error('file_wrapper is not used by these tests');
    },
  };
}

export function recordingLog(lines: string[]): Log {
  return makeLog(
    (level, message, rid) => lines.push(`${level} ${rid ?? '-'} ${message}`),
    (line) => lines.push(`access ${line}`),
  );
}

let counter = 0;

export async function serve(
  make: (opts: InterfaceOptions) => AppHandler,
  mountPoint = '/',
  debugMode = false,
): Promise<Harness> {
  const logged: string[] = [];
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const opts: InterfaceOptions = { server: testServerInfo(), log: recordingLog(logged), debugMode };
  const handler = make(opts);
  const mount = mountStage(mountPoint);
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const now = performance.now();
    const ctx: RequestContext = {
      req, res, listener: { scheme: 'http', port }, id: `t${++counter}`, startMono: now, startUs: Date.now() * 1000,
      scriptName: '', pathInfo: '', queryString: '',
    };
    hostCheck(ctx, (c) => headerFilter(c, (c2) => mount(c2, (c3) => handler(c3))));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    logged,
    opts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Serves, in debug mode, the handler `make` builds around an app that throws
 * Error('debug-marker'), and fetches its error page. The harness joins `servers`.
 */
export async function debugErrorPage(
  servers: Harness[],
  make: (app: () => never, opts: InterfaceOptions) => AppHandler,
): Promise<{ status: number; body: string }> {
  const fail = (): never => {
    throw new Error('debug-marker');
  };
  const h = await serve((opts) => make(fail, opts), '/', true);
  servers.push(h);
  const res = await request(h.url);
  return { status: res.statusCode, body: await res.body.text() };
}
