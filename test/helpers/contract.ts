/**
 * The interface contract, as one suite per app kind, process count and
 * transport: every kind of app (TSGI, fetch, node, and real Express, Koa and
 * Hono apps) sees the same request the same way and gets the same service,
 * through the real CLI and real sockets. Transports: plain HTTP/1.1, HTTPS
 * (HTTP/1.1 over TLS) and HTTP/2 over TLS (ALPN h2), all with undici.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { Agent, request, type Dispatcher } from 'undici';
import { errorMarker, goneMarker, type Echo } from '../fixtures/contract/shared.js';
import { fixture, startServer, type RunningServer } from './server.js';

export type Transport = 'http' | 'https' | 'h2';

/** The certificate an HTTPS or HTTP/2 server is started with, and the CA that signed it. */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca: Buffer;
}

export const MOUNT = '/sub';

export interface AppCase {
  readonly kind: string;
  readonly iface: 'tsgi' | 'fetch' | 'node';
  /** Fetch apps route on the full public path; the others on the path below the mount. */
  readonly routesOnFullPath: boolean;
  /** The framework renders its own 500 page (Express shows the stack outside production). */
  readonly ownErrorPage: boolean;
}

export const APPS: AppCase[] = [
  { kind: 'tsgi', iface: 'tsgi', routesOnFullPath: false, ownErrorPage: false },
  { kind: 'fetch', iface: 'fetch', routesOnFullPath: true, ownErrorPage: false },
  { kind: 'node', iface: 'node', routesOnFullPath: false, ownErrorPage: false },
  { kind: 'express', iface: 'node', routesOnFullPath: false, ownErrorPage: true },
  { kind: 'koa', iface: 'node', routesOnFullPath: false, ownErrorPage: true },
  { kind: 'hono', iface: 'fetch', routesOnFullPath: true, ownErrorPage: true },
];

export async function stop(server: RunningServer | undefined): Promise<void> {
  if (!server) return;
  server.signal('SIGTERM');
  const timer = setTimeout(() => {
    try {
      process.kill(-server.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 5_000);
  await server.exited();
  clearTimeout(timer);
}

function tlsArgs(transport: Transport, files: TlsFiles | undefined): string[] {
  if (transport === 'http') return [];
  if (!files) throw new Error(`the ${transport} contract needs a certificate`);
  const args = ['--https-port', '0', '--ssl-certificate-file', files.cert, '--ssl-certificate-key-file', files.key];
  return transport === 'h2' ? [...args, '--http2'] : args;
}

/** Opens `path` and lets the first bytes of the response arrive, then goes away. */
async function disconnectMidResponse(server: RunningServer, transport: Transport, path: string, files?: TlsFiles): Promise<void> {
  if (transport === 'h2') {
    const session = http2.connect(server.httpsUrl!, { ca: files!.ca, servername: 'localhost' });
    session.on('error', () => {});
    const stream = session.request({ ':path': path });
    stream.on('error', () => {});
    await once(stream, 'data');
    stream.close(http2.constants.NGHTTP2_CANCEL);
    session.close();
    return;
  }
  const { port, hostname } = new URL(transport === 'https' ? server.httpsUrl! : server.url);
  const socket = transport === 'https'
    ? tls.connect({ port: Number(port), host: hostname, ca: files!.ca, servername: 'localhost' })
    : net.connect(Number(port), hostname);
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
  await once(socket, 'data');
  socket.destroy();
}

export function contract(app: AppCase, processes: number, transport: Transport = 'http', files?: () => TlsFiles): void {
  const label = transport === 'http' ? '' : `, ${transport === 'h2' ? 'HTTP/2 over TLS' : 'HTTPS'}`;
  describe(`${app.kind} app, --processes ${processes}${label}`, { timeout: 60_000 }, () => {
    let server: RunningServer;
    let base: string;
    let dispatcher: Dispatcher | undefined;
    // /stream sends its second chunk once this file exists (fixtures/contract/shared.ts).
    const release = join(tmpdir(), `tsgi-contract-release-${process.pid}-${randomBytes(6).toString('hex')}`);
    before(async () => {
      server = await startServer(
        [fixture(`contract/${app.kind}.ts`), '--processes', String(processes), '--mount-point', MOUNT, ...tlsArgs(transport, files?.())],
        { env: { CONTRACT_MOUNT: MOUNT, CONTRACT_STREAM_RELEASE: release } },
      );
      const url = transport === 'http' ? server.url : server.httpsUrl!;
      base = url.replace(/\/$/, '') + MOUNT;
      if (transport !== 'http') dispatcher = new Agent({ connect: { ca: files!().ca, servername: 'localhost' }, allowH2: transport === 'h2' });
    });
    after(async () => {
      await stop(server);
      await dispatcher?.close();
      rmSync(release, { force: true });
    });

    if (transport === 'h2') {
      it('answers over HTTP/2', async () => {
        const session = http2.connect(server.httpsUrl!, { ca: files!().ca, servername: 'localhost' });
        try {
          const stream = session.request({ ':path': `${MOUNT}/echo` });
          const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
          let text = '';
          for await (const chunk of stream) text += chunk;
          assert.equal(headers[':status'], 200);
          assert.equal(headers.connection, undefined);
          assert.equal((JSON.parse(text) as Echo).kind, app.kind);
        } finally {
          session.close();
        }
      });
    }

    it(`is served through the ${app.iface} interface`, () => {
      assert.match(server.output(), new RegExp(`Application\\s*: .*contract/${app.kind}\\.ts \\(${app.iface}\\)`));
    });

    it('sees method, path, query and mount point', async () => {
      const res = await request(`${base}/echo?x=1&y=a%20b`, { method: 'PATCH', dispatcher });
      assert.equal(res.statusCode, 200);
      const echo = (await res.body.json()) as Echo;
      assert.equal(echo.kind, app.kind);
      assert.equal(echo.method, 'PATCH');
      assert.equal(echo.scriptName, MOUNT);
      assert.equal(echo.pathInfo, '/echo');
      assert.equal(echo.query, 'x=1&y=a%20b');
      assert.equal(echo.path, app.routesOnFullPath ? `${MOUNT}/echo` : '/echo');
      assert.match(String(echo.remoteAddr), /127\.0\.0\.1/);
    });

    it('sees the filtered request headers, repeats joined', async () => {
      const res = await request(`${base}/echo`, {
        dispatcher,
        headers: ['X-Tag', 'a', 'X-Tag', 'b', 'X_User', 'admin', 'Proxy', 'http://evil', 'X-Custom', 'hello'],
      });
      const { headers } = (await res.body.json()) as Echo;
      assert.equal(headers['x-custom'], 'hello');
      assert.equal(headers['x-tag'], 'a, b');
      for (const name of ['x-user', 'x_user', 'proxy']) assert.equal(headers[name], undefined, name);
    });

    it('reads a JSON POST', async () => {
      const res = await request(`${base}/json`, {
        dispatcher, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n: 42, s: 'ü' }),
      });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(await res.body.json(), { received: { n: 42, s: 'ü' } });
    });

    it('reads a 1 MiB upload as it streams', async () => {
      const upload = randomBytes(1024 * 1024);
      const res = await request(`${base}/upload`, { method: 'POST', body: upload, dispatcher });
      assert.equal(res.statusCode, 200);
      assert.equal(await res.body.text(), createHash('sha256').update(upload).digest('hex'));
    });

    it('streams the response: the first chunk arrives before the end', async () => {
      const res = await request(`${base}/stream`, { dispatcher });
      const chunks = res.body[Symbol.asyncIterator]();
      // The app holds its second chunk until we have read the first and say so: a
      // server that buffered the response would give both at once, after the app's wait.
      const first = await chunks.next();
      assert.equal(String(first.value), 'chunk-1\n');
      writeFileSync(release, '');
      let rest = '';
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) rest += String(next.value);
      assert.equal(rest, 'chunk-2\n');
      assert.equal(existsSync(release), false, 'the app waited for the release, and took it');
    });

    it('sends two Set-Cookie headers and a repeated header', async () => {
      const res = await request(`${base}/cookies`, { dispatcher });
      await res.body.dump();
      const cookies = [res.headers['set-cookie']].flat();
      assert.equal(cookies.length, 2, String(cookies));
      assert.match(cookies[0]!, /^a=1;/);
      assert.match(cookies[1]!, /^b=2;.*httponly/i);
      assert.equal([res.headers['x-out']].flat().join(', '), 'one, two');
    });

    it('answers 500 for an error in the handler, with its stack in the server output', async () => {
      const from = server.output().length;
      const res = await request(`${base}/error`, { dispatcher });
      assert.equal(res.statusCode, 500);
      const body = await res.body.text();
      if (!app.ownErrorPage) assert.doesNotMatch(body, /contract-error/);
      await server.waitFor(new RegExp(`${errorMarker(app.kind)}[\\s\\S]*?\\bat\\b`), 10_000, from);
    });

    it('answers HEAD without a body', async () => {
      const res = await request(`${base}/echo`, { method: 'HEAD', dispatcher });
      assert.equal(res.statusCode, 200);
      assert.equal(await res.body.text(), '');
    });

    it('lets the app observe a client that goes away mid-stream', async () => {
      const from = server.output().length;
      await disconnectMidResponse(server, transport, `${MOUNT}/disconnect`, files?.());
      await server.waitFor(new RegExp(goneMarker(app.kind)), 10_000, from);
    });
  });
}

