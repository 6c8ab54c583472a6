// Reverse-proxy mounts (--proxy-mount-point, --proxy-virtual-host) in front of a
// second local server: streamed uploads and event streams, redirects and cookies
// rewritten under the mount, WebSockets passed through, 502/504, the access log.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import { fixture, killAll, ROOT, runCli, startServer, type RunningServer } from '../helpers/server.js';

const events = new EventEmitter();
const sockDir = mkdtempSync(path.join(tmpdir(), 'tsgi-proxy-'));
const upstreams: http.Server[] = [];

after(async () => {
  killAll();
  for (const s of upstreams) s.closeAllConnections();
  await Promise.all(upstreams.map((s) => new Promise((r) => s.close(r))));
  rmSync(sockDir, { recursive: true, force: true });
});

/** The second local server: what a proxied app sees and does. */
function upstreamApp(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url!, 'http://upstream');
  if (url.pathname === '/headers') {
    res.setHeader('Content-Type', 'application/json');
    return void res.end(JSON.stringify({ url: req.url, headers: req.headers }));
  }
  if (url.pathname === '/upload') {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      if (bytes === 0) events.emit('upload-started');
      bytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => res.end(`${bytes} ${hash.digest('hex')}`));
    return;
  }
  if (url.pathname === '/events') {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    res.write('data: one\n\n');
    events.once('send-two', () => res.end('data: two\n\n'));
    return;
  }
  if (url.pathname === '/breaks') {
    // A length it never delivers: the head and part of the body, then the connection dies.
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '1000' });
    res.write('partial ');
    setTimeout(() => res.socket?.destroy(), 50);
    return;
  }
  if (url.pathname === '/endless') {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    const timer = setInterval(() => res.write('data: tick\n\n'), 20);
    res.write('data: first\n\n');
    res.on('close', () => {
      clearInterval(timer);
      events.emit('endless-closed');
    });
    return;
  }
  if (url.pathname.endsWith('/redirect')) {
    res.setHeader('Set-Cookie', ['session=1; Path=/; HttpOnly', 'deep=2; Path=/account']);
    res.writeHead(302, { Location: url.searchParams.get('to') ?? '/login' });
    return void res.end();
  }
  if (url.pathname === '/slow') {
    const timer = setTimeout(() => res.end('late'), 3000);
    res.on('close', () => clearTimeout(timer));
    return;
  }
  res.end(`upstream ${req.method} ${req.url}`);
}

async function startUpstream(listen: number | string): Promise<http.Server> {
  const server = http.createServer(upstreamApp);
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    ws.send(`upstream ws ${req.url} prefix=${req.headers['x-forwarded-prefix'] ?? ''}`);
    ws.on('message', (m) => ws.send(`echo ${m}`));
  });
  upstreams.push(server);
  if (typeof listen === 'string') server.listen(listen);
  else server.listen(listen, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/** Writes `text` on a raw connection; resolves with all the server sent until it closed. */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.on('data', (d) => (data += d));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('proxy mounts in front of a second local server', { timeout: 60_000 }, () => {
  let server: RunningServer;
  let upstreamPort: number;
  const socketPath = path.join(sockDir, 'up.sock');

  before(async () => {
    const up = await startUpstream(0);
    upstreamPort = (up.address() as net.AddressInfo).port;
    await startUpstream(socketPath);
    const down = await freePort();
    server = await startServer([
      fixture('app.ts'), '--processes', '2', '--access-log', '--proxy-timeout', '1',
      '--proxy-mount-point', '/api/', `http://127.0.0.1:${upstreamPort}/`,
      '--proxy-mount-point', '/deep', `http://127.0.0.1:${upstreamPort}/base/`,
      '--proxy-mount-point', '/sock', `unix:${socketPath}|http://localhost/`,
      '--proxy-mount-point', '/down', `http://127.0.0.1:${down}/`,
      '--proxy-virtual-host', 'proxied.test', `http://127.0.0.1:${upstreamPort}`,
    ]);
  });

  it('strips the prefix and adds X-Forwarded-*', async () => {
    const res = await request(`${server.url}api/headers?q=1`, { headers: { 'X-Forwarded-For': '10.1.1.1' } });
    assert.equal(res.statusCode, 200);
    const seen = (await res.body.json()) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/headers?q=1');
    assert.equal(seen.headers.host, `127.0.0.1:${upstreamPort}`);
    assert.equal(seen.headers['x-forwarded-for'], '10.1.1.1, 127.0.0.1');
    assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${server.port}`);
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-port'], String(server.port));
    assert.equal(seen.headers['x-forwarded-prefix'], '/api');
    const raw = await rawExchange(server.port, 'GET /api/headers HTTP/1.1\r\nHost: h\r\nConnection: close, X-Drop\r\nX-Drop: no\r\nX-Keep: yes\r\n\r\n');
    const proxied = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { headers: Record<string, string> };
    assert.equal(proxied.headers['x-keep'], 'yes');
    assert.equal(proxied.headers['x-drop'], undefined, 'a header the Connection header names is hop-by-hop');
    // Paths outside every proxy mount still reach the app.
    assert.equal((await (await request(`${server.url}hello`)).body.text()).length > 0, true);
  });

  it('redirects the bare mount to its slash form, and joins the upstream base path', async () => {
    const res = await request(`${server.url}api?x=1`);
    assert.equal(res.statusCode, 302);
    assert.equal(res.headers.location, '/api/?x=1');
    await res.body.dump();
    assert.equal(await (await request(`${server.url}deep/x/y`)).body.text(), 'upstream GET /base/x/y');
    assert.equal(await (await request(`${server.url}api/../api/z`)).body.text(), 'upstream GET /z');
  });

  it('streams an upload to the upstream as it arrives', async () => {
    const started = once(events, 'upload-started');
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent === 0) {
          sent++;
          this.push(chunk);
          // The rest waits until the upstream has the first part: the proxy does not buffer the body.
          void started.then(() => {
            for (let i = 0; i < 15; i++) this.push(chunk);
            this.push(null);
          });
        }
      },
    });
    const res = await request(`${server.url}api/upload`, { method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream' } });
    const [bytes, digest] = (await res.body.text()).split(' ');
    assert.equal(Number(bytes), 16 * chunk.length);
    assert.equal(digest, createHash('sha256').update(Buffer.concat(Array(16).fill(chunk))).digest('hex'));
  });

  it('passes server-sent events through as they are sent', async () => {
    const res = await request(`${server.url}api/events`);
    assert.equal(res.headers['content-type'], 'text/event-stream');
    const reader = res.body[Symbol.asyncIterator]();
    const first = await reader.next();
    assert.match(String(first.value), /data: one/);
    events.emit('send-two');
    let rest = '';
    for (let r = await reader.next(); !r.done; r = await reader.next()) rest += String(r.value);
    assert.match(rest, /data: two/);
  });

  it('an upstream body that breaks off mid-way cuts the client\'s response and is logged', async () => {
    const from = server.output().length;
    const res = await request(`${server.url}api/breaks`);
    assert.equal(res.statusCode, 200);
    await assert.rejects(res.body.text(), 'the response is cut, never completed short');
    await server.waitFor(/proxy: GET \/api\/breaks -> http:\/\/127\.0\.0\.1:\d+\/breaks: the upstream body failed/, 10_000, from);
    assert.equal((await request(`${server.url}api/x`)).statusCode, 200, 'the server keeps serving');
  });

  it('a client that leaves mid-stream ends the upstream request at once', async () => {
    const closed = once(events, 'endless-closed');
    const res = await request(`${server.url}api/endless`);
    const reader = res.body[Symbol.asyncIterator]();
    assert.match(String((await reader.next()).value), /data: first/);
    res.body.destroy();
    const ended = await Promise.race([closed.then(() => true), sleep(5_000).then(() => false)]);
    assert.ok(ended, 'the upstream saw its request closed within 5 s');
  });

  it('rewrites Location and cookie paths back under the mount', async () => {

    const res = await request(`${server.url}api/redirect`);
    assert.equal(res.statusCode, 302);
    assert.equal(res.headers.location, '/api/login');
    assert.deepEqual(res.headers['set-cookie'], ['session=1; Path=/api/; HttpOnly', 'deep=2; Path=/api/account']);
    await res.body.dump();
    const absolute = await request(`${server.url}api/redirect?to=${encodeURIComponent(`http://127.0.0.1:${upstreamPort}/next?a=1`)}`);
    assert.equal(absolute.headers.location, `http://127.0.0.1:${server.port}/api/next?a=1`);
    await absolute.body.dump();
    const elsewhere = await request(`${server.url}api/redirect?to=${encodeURIComponent('https://example.test/x')}`);
    assert.equal(elsewhere.headers.location, 'https://example.test/x');
    await elsewhere.body.dump();
    const based = await request(`${server.url}deep/redirect?to=/base/in`);
    assert.equal(based.headers.location, '/deep/in');
    await based.body.dump();
  });

  it('passes WebSocket upgrades through', async () => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}api/socket`);
    const [first] = await once(ws, 'message');
    assert.equal(String(first), 'upstream ws /socket prefix=/api');
    ws.send('ping');
    const [echo] = await once(ws, 'message');
    assert.equal(String(echo), 'echo ping');
    ws.close();
    await once(ws, 'close');
  });

  it('reaches a unix-socket upstream, and a virtual host', async () => {
    assert.equal(await (await request(`${server.url}sock/a?b`)).body.text(), 'upstream GET /a?b');
    const res = await request(`${server.url}hello`, { headers: { Host: 'proxied.test' } });
    assert.equal(await res.body.text(), 'upstream GET /hello');
  });

  it('answers 502 for an upstream that is down and 504 for one too slow, and logs both', async () => {
    const down = await request(`${server.url}down/x`);
    assert.equal(down.statusCode, 502);
    await down.body.dump();
    await server.waitFor(/proxy: GET \/down\/x -> http:\/\/127\.0\.0\.1:\d+\/x: 502/);
    const slow = await request(`${server.url}api/slow`);
    assert.equal(slow.statusCode, 504);
    await slow.body.dump();
    await server.waitFor(/proxy: GET \/api\/slow -> .*: 504/);
    await server.waitFor(/"GET \/api\/slow HTTP\/1\.1" 504/);
    await server.waitFor(/"GET \/api\/headers\?q=1 HTTP\/1\.1" 200/);
  });
});

describe('proxy mounts behind access control', { timeout: 60_000 }, () => {
  it('a proxied request and a proxied WebSocket need the credentials the app needs, outside its mount point too', async () => {
    const up = await startUpstream(0);
    const port = (up.address() as net.AddressInfo).port;
    const server = await startServer([
      fixture('app.ts'), '--mount-point', '/app', '--auth-user-script', path.join(ROOT, 'examples/auth-users.ts'),
      '--proxy-mount-point', '/api', `http://127.0.0.1:${port}/`,
    ]);
    const denied = await request(`${server.url}api/x`);
    assert.equal(denied.statusCode, 401);
    await denied.body.dump();
    const auth = 'Basic ' + Buffer.from('admin:change me').toString('base64');
    const allowed = await request(`${server.url}api/x`, { headers: { Authorization: auth } });
    assert.equal(await allowed.body.text(), 'upstream GET /x');
    assert.equal((await request(`${server.url}elsewhere`, { headers: { Authorization: auth } })).statusCode, 404);
    const refused = new WebSocket(`${server.url.replace('http', 'ws')}api/socket`);
    refused.on('error', () => {});
    const [, response] = (await once(refused, 'unexpected-response')) as [unknown, http.IncomingMessage];
    assert.equal(response.statusCode, 401);
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}api/socket`, { headers: { Authorization: auth } });
    const [first] = await once(ws, 'message');
    assert.equal(String(first), 'upstream ws /socket prefix=/api');
    ws.close();
  });
});

describe('proxy options: bad input', { timeout: 30_000 }, () => {
  it('an upstream that does not parse stops the server at start, naming the flag', async () => {
    const { code, output } = await runCli(['start-server', fixture('app.ts'), '--proxy-mount-point', '/api', 'ftp://x/']);
    assert.equal(code, 2);
    assert.match(output, /--proxy-mount-point \/api takes an http or https upstream, not ftp:/);
    const bad = await runCli(['start-server', fixture('app.ts'), '--proxy-virtual-host', 'a.test', 'not a url']);
    assert.equal(bad.code, 2);
    assert.match(bad.output, /--proxy-virtual-host a\.test is not an upstream URL/);
  });
});
