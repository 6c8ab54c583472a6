/**
 * HTTP/2 through the real CLI (--http2): ALPN on the HTTPS port with HTTP/1.1
 * beside it, h2c with prior knowledge on the plain port beside HTTP/1.1, what
 * the request sees, the answers the server writes itself, Express 5 on the
 * bridge, a truncated response resetting only its stream, and the graceful
 * drain (GOAWAY, PING, GOAWAY) with zero failed requests under h2load and
 * undici load. Clients: curl, openssl s_client, node:http2, undici, h2load.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { curl, run, sClient } from '../helpers/clients.js';
import { connectionHeaders, H2Load, h2connect, h2request } from '../helpers/h2.js';
import { fixture, killAll, startServer, waitGone, type RunningServer } from '../helpers/server.js';
import { ca, pki, tlsArgs, useTestPki } from '../helpers/tls.js';

useTestPki();
after(() => killAll());


describe('--http2', { timeout: 120_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([fixture('app.ts'), ...tlsArgs(), '--access-log', '--access-log-format', '%h %l %u %t "%r" %>s %b %X %H']);
  });

  it('offers h2 through ALPN on the HTTPS port, and http/1.1 to a client without it', async () => {
    const h2 = await sClient(server.httpsPort!, ['-alpn', 'h2,http/1.1', '-CAfile', pki.caCert], 'Q\n');
    assert.match(h2.stdout, /ALPN protocol: h2\b/);
    const h1 = await sClient(server.httpsPort!, ['-alpn', 'http/1.1', '-CAfile', pki.caCert], 'Q\n');
    assert.match(h1.stdout, /ALPN protocol: http\/1\.1/);
    const v2 = await curl(['--http2', '--cacert', pki.caCert, '-o', '/dev/null', '-w', '%{http_version}', `https://localhost:${server.httpsPort}/pid`]);
    assert.equal(v2.stdout, '2', v2.stderr);
    const v1 = await curl(['--http1.1', '--cacert', pki.caCert, '-o', '/dev/null', '-w', '%{http_version}', `https://localhost:${server.httpsPort}/pid`]);
    assert.equal(v1.stdout, '1.1', v1.stderr);
  });

  it('speaks h2c with prior knowledge on the plain port, beside HTTP/1.1', async () => {
    const v2 = await curl(['--http2-prior-knowledge', '-o', '/dev/null', '-w', '%{http_version}', `${server.url}pid`]);
    assert.equal(v2.stdout, '2', v2.stderr);
    const v1 = await curl(['-o', '/dev/null', '-w', '%{http_version}', `${server.url}pid`]);
    assert.equal(v1.stdout, '1.1', v1.stderr);
  });

  it('gives the app HTTP/2 as SERVER_PROTOCOL and :authority as HTTP_HOST, on either port', async () => {
    const session = await h2connect(server.httpsUrl!, ca);
    const res = await h2request(session, { ':path': '/environ', ':authority': `localhost:${server.httpsPort}` });
    session.close();
    const environ = JSON.parse(res.body) as Record<string, unknown>;
    assert.equal(environ.SERVER_PROTOCOL, 'HTTP/2');
    assert.equal(environ.HTTP_HOST, `localhost:${server.httpsPort}`);
    assert.equal(environ.SERVER_NAME, 'localhost');
    assert.equal(environ['tsgi.url_scheme'], 'https');
    assert.equal(environ.HTTPS, 'on');
    const plain = await h2connect(server.url);
    const clear = JSON.parse((await h2request(plain, { ':path': '/environ' })).body) as Record<string, unknown>;
    plain.close();
    assert.equal(clear.SERVER_PROTOCOL, 'HTTP/2');
    assert.equal(clear['tsgi.url_scheme'], 'http');
    assert.equal(clear.HTTPS, undefined);
  });

  it('logs HTTP/2 requests as Apache does (HTTP/2.0, connection kept: +)', async () => {
    const from = server.output().length;
    const session = await h2connect(server.httpsUrl!, ca);
    await h2request(session, { ':path': '/pid?h2=1' });
    session.close();
    await server.waitFor(/"GET \/pid\?h2=1 HTTP\/2\.0" 200 \d+ \+ HTTP\/2\.0/, 10_000, from);
  });

  it('writes its own answers as valid HTTP/2: no connection headers, the right status', async () => {
    const session = await h2connect(server.httpsUrl!, ca);
    try {
      const bad = await h2request(session, { ':path': '/%ff' });
      assert.equal(bad.status, 400);
      assert.match(bad.body, /400 Bad Request/);
      assert.deepEqual(connectionHeaders(bad.headers), []);
      const options = await h2request(session, { ':method': 'OPTIONS', ':path': '*' });
      assert.equal(options.status, 200);
      const connect = await h2request(session, { ':method': 'CONNECT', ':authority': 'example.com:443' });
      assert.equal(connect.status, 405);
      const head = await h2request(session, { ':method': 'HEAD', ':path': '/pid' });
      assert.equal(head.status, 200);
      assert.equal(head.body, '');
      // The session is still good after all that.
      assert.equal((await h2request(session, { ':path': '/pid' })).status, 200);
    } finally {
      session.close();
    }
  });

  it('allows 100 streams at once on a connection, and closes a session idle for the keep-alive timeout', async () => {
    const session = await h2connect(server.httpsUrl!, ca);
    if (!session.remoteSettings.maxConcurrentStreams) await once(session, 'remoteSettings');
    assert.equal(session.remoteSettings.maxConcurrentStreams, 100);
    await h2request(session, { ':path': '/pid' });
    const started = performance.now();
    const [code] = (await once(session, 'goaway')) as [number];
    assert.equal(code, http2.constants.NGHTTP2_NO_ERROR);
    const idle = performance.now() - started;
    assert.ok(idle > 4000 && idle < 12_000, `closed after ${idle.toFixed(0)} ms idle (Node's keep-alive timeout: 5 s)`);
  });

  it('a node app sees the TLS socket over HTTP/2 too', async () => {
    const node = await startServer([fixture('tls-node.ts'), ...tlsArgs()]);
    const session = await h2connect(node.httpsUrl!, ca);
    const seen = JSON.parse((await h2request(session, { ':path': '/x' })).body) as Record<string, unknown>;
    session.close();
    assert.equal(seen.encrypted, true);
    assert.equal(seen.httpVersion, '2.0');
    assert.match(String(seen.tlsProtocol), /^TLSv1\.[23]$/);
    assert.equal(seen.host, `localhost:${node.httpsPort}`);
  });
});

describe('Express 5 over HTTP/2', { timeout: 60_000 }, () => {
  let server: RunningServer;
  let session: http2.ClientHttp2Session;
  before(async () => {
    server = await startServer([fixture('express-h2.ts'), ...tlsArgs()]);
    session = await h2connect(server.httpsUrl!, ca);
  });
  after(() => session?.close());

  it('routes, and sees the request as secure HTTP/2', async () => {
    const res = await h2request(session, { ':path': '/whoami' });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), {
      protocol: 'https', secure: true, hostname: 'localhost', httpVersion: '2.0', ip: '127.0.0.1', originalUrl: '/whoami',
    });
    const item = await h2request(session, { ':path': '/items/42' });
    assert.deepEqual(JSON.parse(item.body), { id: '42' });
  });

  it('parses JSON and form bodies', async () => {
    const json = await h2request(session, { ':method': 'POST', ':path': '/items', 'content-type': 'application/json' }, '{"a":[1,2]}');
    assert.equal(json.status, 201);
    assert.deepEqual(JSON.parse(json.body), { created: { a: [1, 2] } });
    const form = await h2request(session, { ':method': 'POST', ':path': '/form', 'content-type': 'application/x-www-form-urlencoded' }, 'name=h%C3%A9');
    assert.equal(form.body, 'name=hé');
  });

  it('sends a file with res.sendFile', async () => {
    const res = await h2request(session, { ':path': '/file' });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'a file sent by res.sendFile\n');
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    assert.equal(res.headers['content-length'], String(res.body.length));
  });

  it('redirects', async () => {
    const res = await h2request(session, { ':path': '/old' });
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, '/whoami');
  });

  it('drops the Connection and Keep-Alive headers an app sets, rather than failing', async () => {
    const res = await h2request(session, { ':path': '/close-header' });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'ok');
    assert.deepEqual(connectionHeaders(res.headers), []);
  });

  it('works through undici with allowH2, and curl --http2', async () => {
    const agent = new Agent({ connect: { ca }, allowH2: true });
    const res = await request(`${server.httpsUrl}items/7`, { dispatcher: agent });
    assert.deepEqual(await res.body.json(), { id: '7' });
    await agent.close();
    const r = await curl(['--http2', '--cacert', pki.caCert, '-w', ' %{http_version}', `https://localhost:${server.httpsPort}/items/8`]);
    assert.equal(r.stdout, '{"id":"8"} 2', r.stderr);
  });
});

describe('a truncated HTTP/2 response', { timeout: 60_000 }, () => {
  it('resets its stream, never the session', async () => {
    const server = await startServer([fixture('h2-truncate.ts'), ...tlsArgs()]);
    const session = await h2connect(server.httpsUrl!, ca);
    let sessionClosed = false;
    session.once('close', () => (sessionClosed = true));
    try {
      const other = h2request(session, { ':path': '/fine' });
      // RST_STREAM, not END_STREAM: node:http2 reports the reset as a stream error.
      const reset = /NGHTTP2_(INTERNAL_ERROR|CANCEL)|stream reset/;
      await assert.rejects(h2request(session, { ':path': '/short' }), reset);
      await assert.rejects(h2request(session, { ':path': '/broken' }), reset);
      assert.match((await other).body, new RegExp(`^HTTP/2 (localhost|127\\.0\\.0\\.1):${server.httpsPort}$`));
      assert.equal((await h2request(session, { ':path': '/after' })).status, 200);
      assert.equal(sessionClosed, false);
    } finally {
      session.close();
    }
  });
});

describe('a 503 from the queue timeout over HTTP/2', { timeout: 60_000 }, () => {
  it('is valid HTTP/2, and the session goes on', async () => {
    const server = await startServer([fixture('app.ts'), ...tlsArgs(), '--threads', '1', '--queue-timeout', '0.5']);
    const session = await h2connect(server.httpsUrl!, ca);
    try {
      const slow = h2request(session, { ':path': '/sleep?ms=2000' });
      await sleep(100);
      const refused = await h2request(session, { ':path': '/pid' });
      assert.equal(refused.status, 503);
      assert.equal(refused.headers['retry-after'], '1');
      assert.deepEqual(connectionHeaders(refused.headers), []);
      assert.equal((await slow).status, 200);
      assert.equal((await h2request(session, { ':path': '/pid' })).status, 200);
    } finally {
      session.close();
    }
  });
});

/** h2load's counts: "requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout". */
function h2loadCounts(out: string): { done: number; succeeded: number; failed: number; errored: number; timeout: number; non2xx: number } {
  const m = /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  if (!m || !codes) throw new Error(`h2load printed no counts:\n${out}`);
  const [, done, succeeded, failed, errored, timeout] = m.map(Number);
  return { done: done!, succeeded: succeeded!, failed: failed!, errored: errored!, timeout: timeout!, non2xx: Number(codes[2]) + Number(codes[3]) + Number(codes[4]) };
}

describe('drain under HTTP/2', { timeout: 300_000 }, () => {
  it('a drain sends a graceful GOAWAY, a PING, then the final GOAWAY; the open stream finishes', async () => {
    const server = await startServer([fixture('app.ts'), ...tlsArgs()]);
    const session = await h2connect(server.httpsUrl!, ca);
    const frames: string[] = [];
    session.on('goaway', (code: number, last: number) => frames.push(`goaway ${code} ${last}`));
    session.on('ping', () => frames.push('ping'));
    const inFlight = h2request(session, { ':path': '/sleep?ms=1500&tag=frames' });
    await server.waitFor(/sleep started frames/);
    server.signal('SIGTERM'); // the drain begins at once (a reload drains once the new workers are up)
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.match(res.body, /^slept \d+/);
    await once(session, 'close');
    assert.deepEqual(frames.slice(0, 3), [`goaway 0 ${2 ** 31 - 1}`, 'ping', 'goaway 0 1']); // 1: the sleep's stream
    assert.equal((await server.exited()).code, 0);
  });

  it('SIGHUP under h2load (TLS and h2c): every request that reached the server is answered', async () => {
    // h2load does not open a new connection after a GOAWAY, and requests it had queued but
    // not sent when the GOAWAY arrived are refused by its own nghttp2 (REFUSED_STREAM) and
    // counted as failed. So the proof is server-side: every request the server received (one
    // access-log line each) is one h2load saw succeed, and h2load's failures are at most the
    // requests it had in flight (connections x streams), none of them answered with an error.
    // h2load takes what CPU the old workers leave: the new ones may load slowly (a loaded machine).
    const server = await startServer([fixture('app.ts'), ...tlsArgs(), '--processes', '2', '--access-log', '--startup-timeout', '60']);
    for (const url of [`${server.httpsUrl}pid?h2load`, `${server.url}pid?h2load`]) {
      const from = server.output().length;
      let finished = false;
      const load = run('h2load', ['-D', '30', '-c', '4', '-m', '10', url], { timeoutMs: 60_000 }).finally(() => (finished = true));
      await sleep(1500);
      server.signal('SIGHUP');
      await server.waitFor(/Reload complete/, 40_000, from);
      assert.equal(finished, false, 'h2load ended before the reload completed: nothing was proven');
      const { stdout, stderr } = await load;
      const counts = h2loadCounts(stdout);
      assert.ok(counts.succeeded > 200, `too little load to prove anything: ${stdout}`);
      assert.equal(counts.non2xx, 0, stdout);
      assert.ok(counts.failed <= 4 * 10, `${counts.failed} failed: more than h2load had in flight\n${stdout}\n${stderr}`);
      const served = async () => (server.output().slice(from).match(/"GET \/pid\?h2load HTTP\/2\.0" 200 /g) ?? []).length;
      const deadline = Date.now() + 10_000;
      while ((await served()) < counts.succeeded && Date.now() < deadline) await sleep(100);
      assert.equal(await served(), counts.succeeded, `the server answered ${await served()} requests, h2load saw ${counts.succeeded} succeed`);
    }
  });

  it('SIGHUP under HTTP/2 load from clients that honour GOAWAY: zero failed requests, both generations served', async () => {
    const server = await startServer([fixture('app.ts'), ...tlsArgs(), '--processes', '2']);
    const load = new H2Load(server.httpsUrl!, '/pid', { loops: 6, maxMs: 30_000, ca });
    await sleep(500);
    const from = server.output().length;
    server.signal('SIGHUP');
    await server.waitFor(/Reload complete/, 20_000, from);
    await sleep(1000);
    const result = await load.stop();
    assert.equal(result.failed, 0, result.errors.join('; '));
    assert.ok(result.ok > 50, `too little load: ${result.ok}`);
    assert.ok(result.goaways > 0, 'the old workers never said GOAWAY');
    assert.ok(result.bodies.size >= 3, `pids: ${[...result.bodies].join(' ')}`);
  });

  it('SIGTERM closes a plain connection still silent (h2c or HTTP/1.1?) at once', async () => {
    const server = await startServer([fixture('app.ts'), ...tlsArgs(), '--shutdown-timeout', '30']);
    const silent = net.connect(server.port, '127.0.0.1');
    await once(silent, 'connect');
    // Still in the listening socket's backlog when the stop closes it (a loaded machine's
    // worker may not have accepted it yet), it is reset rather than closed: as much at once.
    silent.on('error', () => {});
    // Not once(): it rejects on the reset's 'error', which is as good an end as a close.
    const closed = new Promise<string>((resolve) => silent.once('close', () => resolve('closed')));
    server.signal('SIGTERM');
    // Not left for --shutdown-timeout (30 s) to end.
    assert.equal(await Promise.race([closed, sleep(10_000).then(() => 'still open')]), 'closed');
    assert.equal((await server.exited()).code, 0);
  });

  it('SIGTERM lets an in-flight HTTP/2 request finish, then exits 0', async () => {
    const server = await startServer([fixture('app.ts'), ...tlsArgs()]);
    const session = await h2connect(server.httpsUrl!, ca);
    const inFlight = h2request(session, { ':path': '/sleep?ms=800&tag=term' });
    await server.waitFor(/sleep started term/);
    server.signal('SIGTERM');
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal((await server.exited()).code, 0);
    assert.ok(await waitGone(server.pid));
  });
});
