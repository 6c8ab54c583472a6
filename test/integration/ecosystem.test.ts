// Apps as the Node ecosystem writes them: a captured listen(), upgrades (WebSockets)
// through the pipeline to node and fetch apps, WebSockets across a reload.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { fixture, killAll, runCli, startServer, type RunningServer } from '../helpers/server.js';

after(killAll);

const eco = (name: string) => fixture(`eco/${name}`);

async function get(url: string) {
  const res = await request(url);
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** A WebSocket client that queues what it receives. */
class Client {
  readonly ws: WebSocket;
  private readonly queue: string[] = [];
  private readonly waiters: ((m: string) => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;

  constructor(url: string, headers?: Record<string, string>) {
    this.ws = new WebSocket(url, { headers });
    this.ws.on('message', (data) => {
      const text = String(data);
      const waiter = this.waiters.shift();
      if (waiter) waiter(text);
      else this.queue.push(text);
    });
    this.opened = once(this.ws, 'open').then(() => undefined);
    this.closed = once(this.ws, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason) }));
    this.ws.on('error', () => {});
  }

  next(ms = 5000): Promise<string> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message within ' + ms + ' ms')), ms);
      this.waiters.push((m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
  }

  async say(text: string): Promise<string> {
    this.ws.send(text);
    return this.next();
  }
}

/** Sends a raw upgrade request and resolves with the status line of the answer (or '' if the connection just closed). */
function rawUpgrade(port: number, path: string, headers = 'Upgrade: websocket\r\nConnection: Upgrade\r\n'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${headers}\r\n`);
    });
    let data = '';
    socket.setTimeout(5000, () => reject(new Error('the upgrade hung')));
    socket.on('data', (d) => {
      data += d;
      // The status line is all that is asked; a kept-alive connection is not waited out.
      if (data.includes('\r\n')) {
        resolve(data.split('\r\n')[0]!);
        socket.destroy();
      }
    });
    socket.on('close', () => resolve(data.split('\r\n')[0] ?? ''));
    socket.on('error', reject);
  });
}

describe('an Express app that calls listen(), with ws on its server', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([
      eco('listen-ws.mjs'), '--processes', '2', '--mount-point', '/app',
      '--access-log', '--access-log-format', '%r %>s %D',
    ]);
  });

  it('is served through the captured listen(), below the mount point', async () => {
    assert.match(server.output(), /Application {8}: .*listen-ws\.mjs \(node \(captured listen\)\)/);
    await server.waitFor(/captured the application's listen\(\) on port 3000/);
    const res = await get(`${server.url}app/`);
    assert.equal(res.status, 200);
    assert.match(res.body, /^hello from \d+ url=\/ base=\/app$/);
    assert.equal((await get(`${server.url}other`)).status, 404);
  });

  it("runs the listen callback, and server.address() is the server's real address", async () => {
    await server.waitFor(new RegExp(`listening on port ${server.port}`));
    const address = JSON.parse((await get(`${server.url}app/address`)).body);
    assert.equal(address.port, server.port);
    assert.equal(address.address, '127.0.0.1');
  });

  it('hands WebSocket upgrades to the app, and logs them with their duration', async () => {
    const client = new Client(`${server.url.replace('http', 'ws')}app/chat?x=1`);
    const welcome = await client.next();
    assert.match(welcome, /^welcome \d+ \/chat\?x=1$/);
    assert.match(await client.say('hi'), /^echo \d+ hi$/);
    await new Promise((r) => setTimeout(r, 200));
    client.ws.close(1000);
    assert.equal((await client.closed).code, 1000);
    const line = await server.waitFor(/GET \/app\/chat\?x=1 HTTP\/1\.1 101 (\d+)/);
    assert.ok(Number(line[1]) >= 200_000, `the logged duration (${line[1]} us) covers the connection`);
  });

  it('answers an upgrade outside the mount point with 404', async () => {
    assert.match(await rawUpgrade(server.port, '/elsewhere'), /^HTTP\/1\.1 404 /);
    assert.match(await rawUpgrade(server.port, '/app/x', 'Host: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'), /^HTTP\/1\.1 400 /);
  });
});

describe('--keep-mount-prefix', { timeout: 60_000 }, () => {
  it('node apps see the full URL, mount point included, in req.url and upgrades', async () => {
    const server = await startServer([eco('listen-ws.mjs'), '--mount-point', '/app', '--keep-mount-prefix']);
    assert.match((await get(`${server.url}app/x?y=1`)).body, /url=\/app\/x\?y=1 base=$/);
    const client = new Client(`${server.url.replace('http', 'ws')}app/chat`);
    assert.match(await client.next(), /^welcome \d+ \/app\/chat$/);
    client.ws.close();
  });
});

describe('WebSockets across a reload', { timeout: 60_000 }, () => {
  it('keeps old sockets on the old workers until --graceful-timeout, closes them with 1001, serves new ones on new workers', async () => {
    const server = await startServer([eco('listen-ws.mjs'), '--processes', '2', '--graceful-timeout', '2']);
    const wsUrl = `${server.url.replace('http', 'ws')}chat`;
    const old = [new Client(wsUrl), new Client(wsUrl)];
    const oldPids = new Set<string>();
    for (const c of old) oldPids.add((await c.next()).split(' ')[1]!);
    let failures = 0;
    let served = 0;
    let stop = false;
    const traffic = (async () => {
      while (!stop) {
        try {
          const res = await get(server.url);
          if (res.status === 200) served++;
          else failures++;
        } catch {
          failures++;
        }
      }
    })();
    const from = server.output().length;
    const reloadedAt = Date.now();
    server.signal('SIGHUP');
    await server.waitFor(/Reload complete/, 20_000, from);
    // Still open, still served by the old workers.
    for (const c of old) assert.match(await c.say('still there'), new RegExp(`^echo (${[...oldPids].join('|')}) still there$`));
    const fresh = new Client(wsUrl);
    const pid = (await fresh.next()).split(' ')[1]!;
    assert.ok(!oldPids.has(pid), 'a new WebSocket is served by a new worker');
    const closes = await Promise.all(old.map((c) => c.closed));
    for (const close of closes) assert.equal(close.code, 1001);
    assert.ok(Date.now() - reloadedAt >= 1500, 'the old sockets stayed until --graceful-timeout');
    assert.match(await fresh.say('after'), new RegExp(`^echo ${pid} after$`));
    stop = true;
    await traffic;
    assert.equal(failures, 0);
    assert.ok(served > 0);
    fresh.ws.close();
  });
});

/** once() for socket.io's emitters, which are not Node EventEmitters. */
function next<T extends unknown[]>(emitter: { once(event: string, listener: (...args: T) => void): unknown }, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (...args: T) => resolve(args)));
}

describe('socket.io across a reload', { timeout: 60_000 }, () => {
  it('keeps chatting on the old worker, is closed at --graceful-timeout, and reconnects to a new one', async () => {
    const server = await startServer([eco('socketio.mjs'), '--processes', '2', '--graceful-timeout', '2', '--mount-point', '/io']);
    const socket = io(server.url, { path: '/io/socket.io', transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 200 });
    const ask = (text: string) => socket.timeout(5000).emitWithAck('whoami', text) as Promise<string>;
    try {
      await next(socket, 'connect');
      const oldPid = (await ask('a')).split(' ')[0];
      const from = server.output().length;
      const reloadedAt = Date.now();
      const disconnected = next<[string]>(socket, 'disconnect');
      server.signal('SIGHUP');
      await server.waitFor(/Reload complete/, 20_000, from);
      assert.equal(await ask('b'), `${oldPid} b`, 'still served by the old worker after the reload');
      const [reason] = await disconnected;
      assert.equal(reason, 'transport close');
      assert.ok(Date.now() - reloadedAt >= 1500, 'closed at --graceful-timeout, not before');
      await next(socket.io, 'reconnect');
      const [newPid, text] = (await ask('c')).split(' ');
      assert.equal(text, 'c');
      assert.notEqual(newPid, oldPid);
    } finally {
      socket.close();
    }
  });
});

describe('upgrades to other app shapes', { timeout: 60_000 }, () => {
  it('fetch apps: Bun-style server.upgrade() and websocket handlers', async () => {
    const server = await startServer([eco('fetch-ws.ts'), '--processes', '2', '--mount-point', '/f']);
    assert.match(server.output(), /fetch-ws\.ts \(fetch\)/);
    const res = await get(`${server.url}f/page`);
    assert.equal(res.body, 'plain /f/page');
    assert.equal((await get(`${server.url}f/ws`)).status, 426);
    const client = new Client(`${server.url.replace('http', 'ws')}f/ws?user=ann`);
    const upgradeHeaders = once(client.ws, 'upgrade');
    assert.match(await client.next(), /^hello ann \d+$/);
    const [response] = (await upgradeHeaders) as [{ headers: Record<string, string> }];
    assert.equal(response.headers['x-hello'], 'ann');
    assert.equal(await client.say('abc'), 'text abc');
    client.ws.send(Buffer.from([1, 2, 3]));
    assert.equal(await client.next(), 'binary 3');
    client.ws.close(4000);
    await server.waitFor(/closed 4000/);
  });

  it('node apps: an exported upgrade(req, socket, head)', async () => {
    const server = await startServer([eco('upgrade-export.mjs'), '--mount-point', '/u']);
    assert.equal((await get(`${server.url}u/page`)).body, 'http /page');
    const client = new Client(`${server.url.replace('http', 'ws')}u/ws`);
    await client.opened;
    assert.equal(await client.say('m'), '/ws m');
    client.ws.close();
    assert.match(await rawUpgrade(server.port, '/u/nope'), /^HTTP\/1\.1 404 /);
  });

  it('an app with no upgrade handler answers the upgrade as an ordinary request, and never hangs', async () => {
    const server = await startServer([fixture('app.ts')]);
    const status = await rawUpgrade(server.port, '/hello');
    assert.match(status, /^HTTP\/1\.1 200 /);
  });
});

describe('loading', { timeout: 60_000 }, () => {
  it('top-level await in .ts and .js files of a package without "type": "module"', async () => {
    for (const file of ['app.js', 'app.ts']) {
      const server = await startServer([eco(`tla/${file}`)]);
      assert.equal((await get(server.url)).body, `top-level await in ${file.slice(3)}`);
    }
  });
});

describe('listen() and shapes: the edges', { timeout: 60_000 }, () => {
  it('binds a second listen() on another port as asked, and warns naming the port', async () => {
    const side = net.createServer();
    await new Promise<void>((r) => side.listen(0, '127.0.0.1', r));
    const sidePort = (side.address() as net.AddressInfo).port;
    await new Promise((r) => side.close(r));
    const server = await startServer([eco('second-listen.mjs')], { env: { SIDE_PORT: String(sidePort) } });
    assert.equal((await get(server.url)).body, 'main');
    await server.waitFor(new RegExp(`also listens on port ${sidePort}: bound as asked`));
    assert.match((await get(`http://127.0.0.1:${sidePort}/`)).body, /^side \d+$/);
  });

  it('an app that exports nothing and never listens: the error says so', async () => {
    const { code, output } = await runCli([
      'start-server', eco('never-listens.mjs'), '--port', '0', '--host', '127.0.0.1', '--startup-timeout', '5',
    ]);
    assert.equal(code, 3);
    assert.match(output, /never-listens\.mjs exports no application for --interface auto, and it did not call listen\(\) within [\d.]+ s of loading \(--startup-timeout\)/);
    assert.match(output, /It exports: port \(number\)/);
  });

  it('a node handler served as TSGI: the error log says to try --interface node', async () => {
    const server = await startServer([eco('node-handler-as-tsgi.mjs'), '--interface', 'tsgi', '--callable-object', 'handler']);
    assert.equal((await get(server.url)).status, 500);
    await server.waitFor(/try --interface node/);
  });

  it('serves the same handler as node under --interface auto --callable-object handler', async () => {
    const server = await startServer([eco('node-handler-as-tsgi.mjs'), '--callable-object', 'handler']);
    assert.equal((await get(server.url)).body, 'node');
  });
});
