/**
 * The interface contract: every kind of app (TSGI, fetch, node, and real Express,
 * Koa and Hono apps) sees the same request the same way and gets the same
 * service, through the real CLI and real sockets, with one and with two workers.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { fixture, killAll, runCli, startServer, type RunningServer } from '../helpers/server.js';
import { errorMarker, goneMarker, STREAM_PAUSE_MS, type Echo } from '../fixtures/contract/shared.js';

after(killAll);

const MOUNT = '/sub';

interface AppCase {
  readonly kind: string;
  readonly iface: 'tsgi' | 'fetch' | 'node';
  /** Fetch apps route on the full public path; the others on the path below the mount. */
  readonly routesOnFullPath: boolean;
  /** The framework renders its own 500 page (Express shows the stack outside production). */
  readonly ownErrorPage: boolean;
}

const APPS: AppCase[] = [
  { kind: 'tsgi', iface: 'tsgi', routesOnFullPath: false, ownErrorPage: false },
  { kind: 'fetch', iface: 'fetch', routesOnFullPath: true, ownErrorPage: false },
  { kind: 'node', iface: 'node', routesOnFullPath: false, ownErrorPage: false },
  { kind: 'express', iface: 'node', routesOnFullPath: false, ownErrorPage: true },
  { kind: 'koa', iface: 'node', routesOnFullPath: false, ownErrorPage: true },
  { kind: 'hono', iface: 'fetch', routesOnFullPath: true, ownErrorPage: true },
];

async function stop(server: RunningServer | undefined): Promise<void> {
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

function contract(app: AppCase, processes: number): void {
  describe(`${app.kind} app, --processes ${processes}`, { timeout: 60_000 }, () => {
    let server: RunningServer;
    let base: string;
    before(async () => {
      server = await startServer(
        [fixture(`contract/${app.kind}.ts`), '--processes', String(processes), '--mount-point', MOUNT],
        { env: { CONTRACT_MOUNT: MOUNT } },
      );
      base = server.url.replace(/\/$/, '') + MOUNT;
    });
    after(() => stop(server));

    it(`is served through the ${app.iface} interface`, () => {
      assert.match(server.output(), new RegExp(`Application\\s*: .*contract/${app.kind}\\.ts \\(${app.iface}\\)`));
    });

    it('sees method, path, query and mount point', async () => {
      const res = await request(`${base}/echo?x=1&y=a%20b`, { method: 'PATCH' });
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
        headers: ['X-Tag', 'a', 'X-Tag', 'b', 'X_User', 'admin', 'Proxy', 'http://evil', 'X-Custom', 'hello'],
      });
      const { headers } = (await res.body.json()) as Echo;
      assert.equal(headers['x-custom'], 'hello');
      assert.equal(headers['x-tag'], 'a, b');
      for (const name of ['x-user', 'x_user', 'proxy']) assert.equal(headers[name], undefined, name);
    });

    it('reads a JSON POST', async () => {
      const res = await request(`${base}/json`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n: 42, s: 'ü' }),
      });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(await res.body.json(), { received: { n: 42, s: 'ü' } });
    });

    it('reads a 1 MiB upload as it streams', async () => {
      const upload = randomBytes(1024 * 1024);
      const res = await request(`${base}/upload`, { method: 'POST', body: upload });
      assert.equal(res.statusCode, 200);
      assert.equal(await res.body.text(), createHash('sha256').update(upload).digest('hex'));
    });

    it('streams the response: the first chunk arrives before the end', async () => {
      const res = await request(`${base}/stream`);
      let firstAt = 0;
      let text = '';
      for await (const chunk of res.body) {
        if (!firstAt) firstAt = performance.now();
        text += chunk.toString();
      }
      const gap = performance.now() - firstAt;
      assert.equal(text, 'chunk-1\nchunk-2\n');
      assert.ok(gap >= STREAM_PAUSE_MS / 2, `the first chunk came only ${gap.toFixed(0)} ms before the end`);
    });

    it('sends two Set-Cookie headers and a repeated header', async () => {
      const res = await request(`${base}/cookies`);
      await res.body.dump();
      const cookies = [res.headers['set-cookie']].flat();
      assert.equal(cookies.length, 2, String(cookies));
      assert.match(cookies[0]!, /^a=1;/);
      assert.match(cookies[1]!, /^b=2;.*httponly/i);
      assert.equal([res.headers['x-out']].flat().join(', '), 'one, two');
    });

    it('answers 500 for an error in the handler, with its stack in the server output', async () => {
      const from = server.output().length;
      const res = await request(`${base}/error`);
      assert.equal(res.statusCode, 500);
      const body = await res.body.text();
      if (!app.ownErrorPage) assert.doesNotMatch(body, /contract-error/);
      await server.waitFor(new RegExp(`${errorMarker(app.kind)}[\\s\\S]*?\\bat\\b`), 10_000, from);
    });

    it('answers HEAD without a body', async () => {
      const res = await request(`${base}/echo`, { method: 'HEAD' });
      assert.equal(res.statusCode, 200);
      assert.equal(await res.body.text(), '');
    });

    it('lets the app observe a client that goes away mid-stream', async () => {
      const from = server.output().length;
      const { port, hostname } = new URL(server.url);
      const socket = net.connect(Number(port), hostname);
      socket.write(`GET ${MOUNT}/disconnect HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
      await once(socket, 'data');
      socket.destroy();
      await server.waitFor(new RegExp(goneMarker(app.kind)), 10_000, from);
    });
  });
}

for (const processes of [1, 2]) for (const app of APPS) contract(app, processes);

describe('the framework examples run as they are', { timeout: 60_000 }, () => {
  const examples: [file: string, iface: string, expect: RegExp][] = [
    ['fetch.ts', 'fetch', /"hello":"world"/],
    ['hono.ts', 'fetch', /Hello from Hono!/],
    ['express.ts', 'node', /Hello from Express!/],
    ['koa.ts', 'node', /"hello":"from Koa"/],
    ['node-handler.ts', 'node', /Hello from a node:http handler!/],
  ];
  for (const [file, iface, expect] of examples) {
    it(`examples/${file} (${iface})`, async () => {
      const server = await startServer([`examples/${file}`]);
      try {
        assert.match(server.output(), new RegExp(`Application\\s*: .*examples/${file} \\(${iface}\\)`));
        const res = await request(server.url);
        assert.equal(res.statusCode, 200);
        assert.match(await res.body.text(), expect);
      } finally {
        await stop(server);
      }
    });
  }
});

describe('node interface below a mount point', { timeout: 30_000 }, () => {
  it('logs the URL the client sent, not the one the app sees', async () => {
    const server = await startServer([fixture('contract/express.ts'), '--access-log', '--mount-point', MOUNT]);
    try {
      const res = await request(`${server.url.replace(/\/$/, '')}${MOUNT}/echo?q=1`);
      assert.equal(((await res.body.json()) as Echo).path, '/echo');
      await server.waitFor(new RegExp(`"GET ${MOUNT}/echo\\?q=1 HTTP/1.1" 200`), 10_000);
    } finally {
      await stop(server);
    }
  });
});

describe('--application-type module', { timeout: 60_000 }, () => {
  const modules: [name: string, iface: string, body: string][] = [
    ['esm-app', 'fetch', 'esm-app'],
    ['cjs-app', 'node', 'cjs-app'],
    ['@acme/web/server', 'fetch', '@acme/web/server'],
  ];
  for (const [name, iface, body] of modules) {
    it(`serves ${name} (${iface}) resolved from --working-directory`, async () => {
      const args = ['--application-type', 'module', '--working-directory', fixture('modules'), name];
      const server = await startServer(args);
      try {
        assert.match(server.output(), new RegExp(`Application\\s*: .*\\(${iface}\\)`));
        assert.equal(await (await request(server.url)).body.text(), body);
      } finally {
        await stop(server);
      }
    });
  }

  it('stops when the name does not resolve, naming it and the directory searched', async () => {
    const dir = fixture('modules');
    const { code, output } = await runCli([
      'start-server', '--application-type', 'module', '--working-directory', dir, '@acme/missing',
      '--host', '127.0.0.1', '--port', '0',
    ]);
    assert.equal(code, 2);
    assert.ok(output.includes(`cannot resolve "@acme/missing" from ${dir}`), output);
  });
});
