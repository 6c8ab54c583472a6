// Issue 24's remainders for node apps: open WebSockets on SIGTERM (kept until
// --shutdown-timeout, then closed with 1001), and apps that listen() on an
// https.createServer or http2.createSecureServer of their own, captured and
// served through the server's listeners (plain HTTP, HTTPS, HTTP/2).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import WebSocket from 'ws';
import { curl } from '../helpers/clients.js';
import { h2connect, h2request } from '../helpers/h2.js';
import { fixture, killAll, startServer } from '../helpers/server.js';
import { ca, certArgs, pki, useTestPki } from '../helpers/tls.js';

useTestPki();
after(() => killAll());

const eco = (name: string) => fixture(`eco/${name}`);

/** A ws client whose messages are awaited one at a time. */
function client(url: string, opts: WebSocket.ClientOptions = {}) {
  const ws = new WebSocket(url, opts);
  ws.on('error', () => {});
  const messages: string[] = [];
  let wake: (() => void) | undefined;
  ws.on('message', (m) => {
    messages.push(String(m));
    wake?.();
  });
  const opened = once(ws, 'open');
  const closed = once(ws, 'close').then(([code]) => code as number);
  const next = async () => {
    while (messages.length === 0) await new Promise<void>((r) => (wake = r));
    return messages.shift()!;
  };
  const say = async (text: string) => {
    await opened;
    ws.send(text);
    return next();
  };
  return { ws, closed, next, say };
}

describe('WebSockets on SIGTERM', { timeout: 60_000 }, () => {
  it('stay served by their workers until --shutdown-timeout, then are closed with 1001, and the server exits', async () => {
    const server = await startServer([eco('listen-ws.mjs'), '--processes', '2', '--shutdown-timeout', '2']);
    const url = `${server.url.replace('http', 'ws')}chat`;
    const clients = [client(url), client(url)];
    const pids = [];
    for (const c of clients) pids.push((await c.next()).split(' ')[1]);
    const stoppedAt = Date.now();
    server.signal('SIGTERM');
    await server.waitFor(/SIGTERM|shutting down|Stopping/i, 10_000);
    // Still open, and still answered by the same worker, during the shutdown.
    for (const [i, c] of clients.entries()) assert.equal(await c.say('still here'), `echo ${pids[i]} still here`);
    const codes = await Promise.all(clients.map((c) => c.closed));
    assert.deepEqual(codes, [1001, 1001], 'closed with "going away"');
    const elapsed = Date.now() - stoppedAt;
    assert.ok(elapsed >= 1500, `the sockets stayed until --shutdown-timeout (closed after ${elapsed} ms)`);
    const { code } = await server.exited();
    assert.equal(code, 0);
  });
});

describe('an app that listens on its own https or http2 server', { timeout: 90_000 }, () => {
  const appEnv = () => ({ APP_KEY: pki.ecKey, APP_CERT: pki.ecCert });

  it('https.createServer(...).listen(): captured, served over the server\'s plain and TLS listeners, WebSockets too', async () => {
    const server = await startServer([eco('listen-https.mjs'), '--processes', '2', '--mount-point', '/app', ...certArgs()], { env: appEnv() });
    assert.match(server.output(), /^Application +: .*listen-https\.mjs \(node \(captured listen\)\)$/m);
    await server.waitFor(new RegExp(`https app listening on ${server.port}`));
    const plain = await request(`${server.url}app/x`);
    assert.match(await plain.body.text(), /^captured https \/x encrypted=false pid=\d+$/);
    // Over TLS the certificate is the server's (signed by the test CA, RSA), not the app's.
    const tls = await curl(['--cacert', pki.caCert, '-w', ' %{ssl_verify_result}', `https://localhost:${server.httpsPort}/app/y`]);
    assert.match(tls.stdout, /^captured https \/y encrypted=true pid=\d+ 0$/, tls.stderr);
    const ws = client(`wss://localhost:${server.httpsPort}/app/live`, { ca });
    assert.equal(await ws.say('hi'), 'echo hi');
    ws.ws.close();
  });

  it('http2.createSecureServer(...).listen(): captured, served over HTTP/1.1 and HTTP/2', async () => {
    const server = await startServer([eco('listen-http2.mjs'), '--processes', '2', ...certArgs(), '--http2'], { env: appEnv() });
    assert.match(server.output(), /^Application +: .*listen-http2\.mjs \(node \(captured listen\)\)$/m);
    const plain = await request(`${server.url}a`);
    assert.equal(await plain.body.text(), 'captured http2 /a http=1.1');
    const session = await h2connect(`https://localhost:${server.httpsPort}`, ca);
    try {
      const res = await h2request(session, { ':path': '/b' });
      assert.equal(res.status, 200);
      assert.equal(res.body, 'captured http2 /b http=2.0');
    } finally {
      session.close();
    }
  });
});
