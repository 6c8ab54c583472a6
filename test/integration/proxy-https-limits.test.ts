// Proxy mounts, the rest of issue 24: an https upstream (a local HTTPS server whose
// certificate a test CA signed, trusted through NODE_EXTRA_CA_CERTS, and refused
// with 502 when it is not), and the host check (--server-name) and body limit
// (--limit-request-body) applied to proxied requests before the upstream sees them.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import { fixture, killAll, startServer, type RunningServer } from '../helpers/server.js';
import { pki, useTestPki } from '../helpers/tls.js';

const upstreams: http.Server[] = [];
/** Every request an upstream got: method, url and the bytes of its body. */
const seen: { method: string; url: string; bytes: number; complete: boolean; over: Promise<void> }[] = [];

useTestPki();

after(async () => {
  killAll();
  for (const s of upstreams) s.closeAllConnections();
  await Promise.all(upstreams.map((s) => new Promise((r) => s.close(r))));
});

function upstreamApp(req: http.IncomingMessage, res: http.ServerResponse): void {
  let bytes = 0;
  // 'close' whether the request completed or was cut ('aborted' on req, which once() would reject with).
  const over = new Promise<void>((resolve) => req.once('close', () => resolve()));
  const entry = { method: req.method!, url: req.url!, bytes: 0, complete: false, over };
  seen.push(entry);
  req.on('data', (chunk: Buffer) => (entry.bytes = bytes += chunk.length));
  req.on('end', () => {
    entry.complete = true;
    const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
    res.end(`upstream ${secure ? 'https' : 'http'} ${req.method} ${req.url} ${bytes} proto=${req.headers['x-forwarded-proto']}`);
  });
}

async function startUpstream(tls: boolean): Promise<number> {
  const server = tls
    ? https.createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, upstreamApp)
    : http.createServer(upstreamApp);
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    ws.send(`upstream ws ${req.url} over ${(req.socket as { encrypted?: boolean }).encrypted ? 'wss' : 'ws'}`);
    ws.on('message', (m) => ws.send(`echo ${m}`));
  });
  upstreams.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

async function text(url: string, opts: Parameters<typeof request>[1] = {}) {
  const res = await request(url, opts);
  return { status: res.statusCode, body: await res.body.text() };
}

describe('a proxy mount with an https upstream', { timeout: 60_000 }, () => {
  let trusted: RunningServer;
  let untrusted: RunningServer;
  let port: number;

  before(async () => {
    port = await startUpstream(true);
    const args = [fixture('app.ts'), '--proxy-mount-point', '/secure', `https://127.0.0.1:${port}/`, '--proxy-timeout', '10'];
    [trusted, untrusted] = await Promise.all([
      startServer(args, { env: { NODE_EXTRA_CA_CERTS: pki.caCert } }),
      startServer(args, { env: { NODE_EXTRA_CA_CERTS: '' } }),
    ]);
  });

  it('reaches it over TLS, with a streamed upload, when its CA is trusted', async () => {
    assert.deepEqual(await text(`${trusted.url}secure/a?b=1`), { status: 200, body: 'upstream https GET /a?b=1 0 proto=http' });
    const body = Readable.from((function* () {
      for (let i = 0; i < 64; i++) yield Buffer.alloc(16 * 1024, i);
    })());
    const upload = await text(`${trusted.url}secure/upload`, { method: 'POST', body });
    assert.deepEqual(upload, { status: 200, body: `upstream https POST /upload ${64 * 16 * 1024} proto=http` });
  });

  it('passes a WebSocket through to it over TLS', async () => {
    const ws = new WebSocket(`${trusted.url.replace('http', 'ws')}secure/live`);
    ws.on('error', () => {});
    const [first] = await once(ws, 'message');
    assert.equal(String(first), 'upstream ws /live over wss');
    ws.send('ping');
    const [echo] = await once(ws, 'message');
    assert.equal(String(echo), 'echo ping');
    ws.close();
    await once(ws, 'close');
  });

  it('answers 502, and logs why, when the upstream certificate is not trusted', async () => {
    const before = seen.length;
    const res = await text(`${untrusted.url}secure/a`);
    assert.equal(res.status, 502);
    await untrusted.waitFor(/proxy: GET \/secure\/a -> https:\/\/127\.0\.0\.1:\d+\/a: 502.*(certificate|self[- ]signed|issuer)/i);
    assert.equal(seen.length, before, 'no request reached the upstream');
  });
});

describe('proxied requests pass the host check and the body limit', { timeout: 60_000 }, () => {
  let server: RunningServer;
  // The banner's URL names the --server-name, which does not resolve here: connect to the address.
  let base: string;

  before(async () => {
    const port = await startUpstream(false);
    server = await startServer([
      fixture('app.ts'), '--server-name', 'www.example.test', '--limit-request-body', '1000',
      '--proxy-mount-point', '/api', `http://127.0.0.1:${port}/`,
    ]);
    base = `http://127.0.0.1:${server.port}/`;
  });

  const host = { Host: 'www.example.test' };

  it('serves the named host, and answers 403 to another one without reaching the upstream', async () => {
    assert.equal((await text(`${base}api/named`, { headers: host })).body, 'upstream http GET /named 0 proto=http');
    const before = seen.length;
    assert.equal((await text(`${base}api/other`, { headers: { Host: 'evil.test' } })).status, 403);
    // A WebSocket for another host is refused the same way.
    const ws = new WebSocket(`${base.replace('http', 'ws')}api/live`, { headers: { Host: 'evil.test' } });
    ws.on('error', () => {});
    const [, response] = (await once(ws, 'unexpected-response')) as [unknown, http.IncomingMessage];
    assert.equal(response.statusCode, 403);
    assert.equal(seen.length, before, 'the upstream saw neither');
  });

  it('answers 413 to a Content-Length above --limit-request-body without reaching the upstream', async () => {
    assert.equal((await text(`${base}api/small`, { method: 'POST', headers: host, body: 'x'.repeat(1000) })).body,
      'upstream http POST /small 1000 proto=http');
    const before = seen.length;
    const res = await text(`${base}api/big`, { method: 'POST', headers: host, body: 'x'.repeat(1001) });
    assert.equal(res.status, 413);
    assert.equal(seen.length, before, 'the upstream never saw the request');
  });

  it('stops a chunked upload past the limit: the client gets 413, the upstream never gets the whole body', async () => {
    // The first 500 bytes reach the upstream before the rest goes past the limit, so
    // that the upstream request is open when the server answers 413 itself.
    const body = Readable.from((async function* () {
      yield Buffer.alloc(500, 'y');
      for (let i = 0; i < 100 && !seen.some((s) => s.url === '/chunked' && s.bytes >= 500); i++) await delay(50);
      for (let i = 0; i < 7; i++) yield Buffer.alloc(500, 'y');
    })());
    const res = await request(`${base}api/chunked`, { method: 'POST', headers: host, body }).then(
      async (r) => ({ status: r.statusCode, body: await r.body.text().catch(() => '') }),
      (err: Error) => ({ status: 0, body: String(err) }),
    );
    assert.equal(res.status, 413, res.body);
    const upstream = seen.find((s) => s.url === '/chunked');
    assert.ok(upstream, 'the upstream got the start of the upload');
    // Cut at once, not left waiting until --proxy-timeout for the rest of a body that will never come.
    const cut = await Promise.race([upstream.over.then(() => true), delay(5_000).then(() => false)]);
    assert.ok(cut, 'the upstream request was closed within 5 s of the 413');
    assert.equal(upstream.complete, false, 'the upstream request was cut, not completed');
    assert.ok(upstream.bytes <= 1000, `the upstream got ${upstream.bytes} bytes, at most the limit`);
  });
});
