/**
 * --header-timeout, --body-timeout and --socket-timeout on HTTP/2 streams
 * (issues 17 and 20): what a slow client gets is what it gets on HTTP/1.1,
 * with the stream as the request and the session as the connection: a stalled
 * body gets 408 on its stream and a stalled response is reset, while the
 * session's other streams go on. Clients: node:http2 (h2c and TLS), and a raw
 * HTTP/2 connection that trickles a header block a byte at a time.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2, { type ClientHttp2Session } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { h2connect, h2request } from '../helpers/h2.js';
import { FRAME, RawH2 } from '../helpers/h2-raw.js';
import { fixture, killAll, startServer, type RunningServer } from '../helpers/server.js';
import { ca, pki, tlsArgs, useTestPki } from '../helpers/tls.js';
import { until } from '../helpers/tsgi-harness.js';

useTestPki();
after(() => killAll());

const seconds = (t0: number) => (performance.now() - t0) / 1000;
/** Both ways HTTP/2 arrives: h2c with prior knowledge on the plain port, h2 by ALPN on the HTTPS port. */
const ways = (server: RunningServer) => [
  { name: 'h2c', url: server.url, port: server.port, ca: undefined },
  { name: 'h2 over TLS', url: server.httpsUrl!, port: server.httpsPort!, ca },
];
const request = (path: string): [string, string][] => [[':method', 'GET'], [':scheme', 'http'], [':authority', 'localhost'], [':path', path]];

describe('--header-timeout on HTTP/2 sessions', { timeout: 90_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([
      fixture('body/tsgi.ts'), ...tlsArgs(), '--header-timeout', '1', '--header-max-timeout', '2', '--header-min-rate', '500',
      '--keep-alive-timeout', '10',
    ]);
  });

  it('a header block trickled a byte at a time: GOAWAY and closed when its time is up, logged at info', async () => {
    for (const way of ways(server)) {
      const from = server.output().length;
      const c = await RawH2.open(way.port, way.ca);
      const t0 = performance.now();
      void c.trickle(c.headersFrame(1, [...request('/pid'), ['x-slow', 'a'.repeat(100)]]), 100);
      assert.ok(await c.closedWithin(5000), `${way.name}: still open`);
      assert.ok(seconds(t0) >= 0.9 && seconds(t0) < 3, `${way.name}: closed after ${seconds(t0)} s`);
      const goaway = c.frames.find((f) => f.type === FRAME.GOAWAY);
      assert.ok(goaway, `${way.name}: no GOAWAY`);
      assert.equal(goaway.payload.readUInt32BE(4), http2.constants.NGHTTP2_NO_ERROR);
      assert.ok(!c.frames.some((f) => f.type === FRAME.HEADERS), 'the trickled request never reached the app');
      await server.waitFor(/\[tsgi:info\].*HTTP\/2 session: no request head arrived within --header-timeout .*closed \(client 127\.0\.0\.1\)/, 5000, from);
    }
  });

  it('a session that opens and sends no request is closed after the timeout, not the keep-alive one', async () => {
    const c = await RawH2.open(server.port);
    const t0 = performance.now();
    assert.ok(await c.closedWithin(5000));
    assert.ok(seconds(t0) >= 0.9 && seconds(t0) < 3, `closed after ${seconds(t0)} s`);
  });

  it('a header block arriving at the minimum rate is given more time, up to the maximum', async () => {
    const c = await RawH2.open(server.port);
    const t0 = performance.now();
    // 60 bytes every 100 ms, 600 bytes/s: each 500 bytes buy a second, until --header-max-timeout (2 s).
    void c.trickle(c.headersFrame(1, [...request('/pid'), ['x-steady', 'b'.repeat(5000)]]), 100, 60);
    assert.ok(await c.closedWithin(6000));
    assert.ok(seconds(t0) >= 1.9 && seconds(t0) < 3.5, `closed after ${seconds(t0)} s`);
  });

  it("on a kept-alive session the clock starts with the next head's first bytes; served streams stay counted", async () => {
    const c = await RawH2.open(server.port);
    c.request(1, request('/pid'));
    await c.waitFrame((f) => f.type === FRAME.DATA && f.stream === 1 && (f.flags & 1) === 1);
    await sleep(1500); // idle past --header-timeout: the keep-alive timeout (10 s) applies, not it
    assert.equal(c.isClosed, false);
    const t0 = performance.now();
    void c.trickle(c.headersFrame(3, [...request('/pid'), ['x-slow', 'a'.repeat(100)]]), 100);
    assert.ok(await c.closedWithin(5000));
    assert.ok(seconds(t0) >= 0.9 && seconds(t0) < 3, `closed after ${seconds(t0)} s`);
    const goaway = c.frames.find((f) => f.type === FRAME.GOAWAY);
    assert.equal(goaway!.payload.readUInt32BE(0) & 0x7fffffff, 1, 'the GOAWAY names stream 1, the last one served');
  });

  it('a session with a request under way is not cut by the header timeout', async () => {
    const session = await h2connect(server.url);
    const res = await h2request(session, { ':path': '/sleep?ms=2500' });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'slept');
    session.close();
  });
});

/** A POST on `session` that sends `first` and then stalls; resolves with the status and the stream's reset code. */
async function stalledPost(session: ClientHttp2Session, path: string, first: string): Promise<{ status: number; body: string; rstCode: number | undefined }> {
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-length': '100' });
  stream.on('error', () => {});
  stream.write(first);
  const [headers] = (await Promise.race([
    new Promise((resolve) => stream.once('response', (h) => resolve([h]))),
    new Promise((_, reject) => stream.once('close', () => reject(new Error(`reset before a response (code ${stream.rstCode})`)))),
  ])) as [http2.IncomingHttpHeaders];
  let body = '';
  for await (const chunk of stream) body += chunk;
  return { status: Number(headers[':status']), body, rstCode: stream.rstCode };
}

describe('--body-timeout, --body-min-rate on HTTP/2 streams', { timeout: 90_000 }, () => {
  for (const kind of ['tsgi', 'node'] as const) {
    it(`${kind}: a body that stalls fails the app's reads with TSGI_BODY_TIMEOUT; 408 on the stream, the session goes on`, async () => {
      const server = await startServer([fixture(`body/${kind}.ts`), ...tlsArgs(), '--body-timeout', '1', '--threads', '2']);
      for (const way of ways(server)) {
        const session = await h2connect(way.url, way.ca);
        const from = server.output().length;
        const t0 = performance.now();
        const stalled = stalledPost(session, `/read?tag=stall-${way.name.length}`, '0123456789');
        await server.waitFor(new RegExp(`${kind} reading stall-${way.name.length}`), 5000, from);
        // Another stream of the same session meanwhile.
        assert.equal((await h2request(session, { ':path': '/pid' })).status, 200);
        const res = await stalled;
        assert.equal(res.status, 408, `${way.name}: ${res.body}`);
        assert.ok(seconds(t0) < 3, `${way.name}: answered after ${seconds(t0)} s`);
        await server.waitFor(new RegExp(`${kind} read failed stall-${way.name.length}: RequestBodyError TSGI_BODY_TIMEOUT 408`), 5000, from);
        await server.waitFor(/\[tsgi:info\].*408 Request Timeout: The request body did not arrive in time/, 5000, from);
        assert.equal(session.closed || session.destroyed, false, `${way.name}: the session was closed`);
        const after = await h2request(session, { ':path': '/pid' });
        assert.equal(after.status, 200, 'the session serves on, and the slot is free');
        session.close();
      }
    });
  }

  it('the clock stops while the body waits for an application that has not read it yet', async () => {
    const server = await startServer([fixture('body/tsgi.ts'), ...tlsArgs(), '--body-timeout', '1']);
    for (const way of ways(server)) {
      const session = await h2connect(way.url, way.ca);
      // 1 MiB, sent at once: the stream's window fills while the app sleeps 2.5 s.
      const res = await h2request(session, { ':method': 'POST', ':path': '/slowread?ms=2500' }, Buffer.alloc(1024 * 1024, 97));
      assert.equal(res.status, 200, way.name);
      assert.equal(res.body, `read ${1024 * 1024} bytes`);
      session.close();
    }
  });

  it('a steady upload above the minimum rate is given more time', async () => {
    const server = await startServer([fixture('body/tsgi.ts'), ...tlsArgs(), '--body-timeout', '1', '--body-min-rate', '40']);
    const session = await h2connect(server.url);
    const stream = session.request({ ':method': 'POST', ':path': '/read', 'content-length': '300' });
    // Listening from the start: the app answers once the 300th byte is in, while this test
    // still sleeps after its last write (iterating a stream that has ended by then fails).
    const response = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', resolve));
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (body += chunk));
    const ended = once(stream, 'end');
    // 300 bytes over 2.5 s at 120 bytes/s: past --body-timeout, within what the rate buys (three
    // times the rate, so a loaded machine's late timers cannot bring it below).
    for (let i = 0; i < 10; i++) {
      stream.write('x'.repeat(30));
      await sleep(250);
    }
    stream.end();
    assert.equal((await response)[':status'], 200);
    await ended;
    assert.equal(body, 'read 300 bytes');
    session.close();
  });
});

describe('--socket-timeout on HTTP/2 streams', { timeout: 90_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([fixture('body/tsgi.ts'), ...tlsArgs(), '--socket-timeout', '1', '--threads', '1']);
  });

  it('a client that stops reading a large response gets its stream reset, and the slot is freed; the session goes on', async () => {
    for (const way of ways(server)) {
      const session = await h2connect(way.url, way.ca);
      const from = server.output().length;
      const stream = session.request({ ':path': '/big' });
      stream.on('error', () => {});
      stream.pause(); // nothing read: the stream's window closes and the server's writes stall
      await server.waitFor(/nothing read or written for --socket-timeout 1 s during a request: HTTP\/2 stream reset \(client 127\.0\.0\.1\)/, 6000, from);
      await until(() => stream.rstCode !== undefined, 5000);
      assert.notEqual(stream.rstCode, http2.constants.NGHTTP2_NO_ERROR);
      const res = await h2request(session, { ':path': '/pid' });
      assert.equal(res.status, 200, `${way.name}: the session and the worker's one thread serve on`);
      session.close();
    }
  });

  it('a response that stalls that long after it started is reset too', async () => {
    const session = await h2connect(server.httpsUrl!, ca);
    const outcome = await h2request(session, { ':path': '/stall?ms=3000' }).then(() => 'answered', () => 'reset');
    assert.equal(outcome, 'reset');
    assert.equal((await h2request(session, { ':path': '/pid' })).status, 200);
    session.close();
  });

  it("before the response starts the wait is --request-timeout's: answered, not reset", async () => {
    const session = await h2connect(server.url);
    const res = await h2request(session, { ':path': '/sleep?ms=2500' });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'slept');
    session.close();
  });
});
