// WebSockets and HTTP/2 across the hop (issue 23): to a pattern mount's site
// (--mount-app-match) and to a --mount-app app in a process group of its own, through one real
// server with HTTP/2 on its HTTPS port. A WebSocket echo both ways with the close codes each
// side gives; HTTP/2 streams over TLS, several at once on one session, with a request body
// streamed up while the response streams down (each chunk echoed before the next is sent),
// and h2c on the plain port. A site that cannot load answers both with its 500.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2, { type ClientHttp2Session } from 'node:http2';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { fixture, killAll, startServer, type RunningServer } from '../helpers/server.js';
import { h2connect, h2request } from '../helpers/h2.js';
import { ca, tlsArgs, useTestPki } from '../helpers/tls.js';

after(killAll);
useTestPki();

const SITES = fixture('match/sites');
const SITE = path.join(SITES, 'duplex/app.mjs');

/** A WebSocket that queues what it receives, so no message is missed between two awaits. */
async function openSocket(url: string): Promise<{ ws: WebSocket; next(): Promise<string> }> {
  const ws = new WebSocket(url, { ca });
  const queue: string[] = [];
  const waiting: ((m: string) => void)[] = [];
  ws.on('message', (data, binary) => {
    const text = binary ? `binary ${(data as Buffer).toString('hex')}` : data.toString();
    const w = waiting.shift();
    if (w) w(text);
    else queue.push(text);
  });
  await once(ws, 'open');
  return { ws, next: () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((resolve) => waiting.push(resolve))) };
}

/** One stream whose request body goes up a chunk at a time, each sent once the previous one came back. */
async function echoByChunk(session: ClientHttp2Session, at: string, chunks: string[]): Promise<string[]> {
  const stream = session.request({ ':method': 'POST', ':path': `${at}/echo` });
  const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
  assert.equal(headers[':status'], 200);
  const seen: string[] = [];
  stream.setEncoding('utf8');
  for (const chunk of chunks) {
    stream.write(chunk);
    let got = '';
    while (got.length < chunk.length) got += (await once(stream, 'data'))[0] as string;
    seen.push(got);
  }
  stream.end();
  await once(stream, 'end');
  return seen;
}

describe('WebSockets and HTTP/2 across the hop: a pattern site and a --mount-app group', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer(
      [fixture('app.ts'), '--processes', '1', '--mount-app', '/explicit', SITE, '--mount-app-match', '^/([^/]+)', `${SITES}/$1/app.mjs`, ...tlsArgs(), '--startup-timeout', '60'],
      { readyTimeoutMs: 60_000 },
    );
  });

  it('a pattern site that cannot load: a WebSocket upgrade and an HTTP/2 stream get its 500 at once', async () => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}broken/ws`);
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
    assert.equal(res.statusCode, 500);
    ws.on('error', () => {}); // ending a socket that never opened is reported as an error
    ws.terminate();
    const session = await h2connect(server.httpsUrl!.replace('127.0.0.1', 'localhost'), ca);
    try {
      const answer = await h2request(session, { ':path': '/broken/x' });
      assert.equal(answer.status, 500);
      assert.match(answer.body, /could not be loaded/);
    } finally {
      session.close();
    }
  });

  for (const [name, at] of [['the pattern site', '/duplex'], ['the --mount-app group', '/explicit']] as const) {
    it(`${name}: a WebSocket echoes both ways, over ws: and wss:, and each side's close code arrives`, async () => {
      for (const base of [server.url.replace('http', 'ws'), server.httpsUrl!.replace('https', 'wss').replace('127.0.0.1', 'localhost')]) {
        const { ws, next } = await openSocket(`${base.replace(/\/$/, '')}${at}/ws?x=1`);
        assert.match(await next(), /^hello \d+ \/ws\?x=1$/);
        ws.send('abc');
        assert.equal(await next(), 'echo abc');
        ws.send(Buffer.from([0, 1, 255]), { binary: true });
        assert.equal(await next(), 'binary 0001ff');
        // The app closes with the code and reason asked for.
        ws.send('close 4001 app-bye');
        const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
        assert.deepEqual([code, reason.toString()], [4001, 'app-bye']);
      }
      // The client closes: the app sees its code and reason.
      const from = server.output().length;
      const { ws, next } = await openSocket(`${server.url.replace('http', 'ws').replace(/\/$/, '')}${at}/ws`);
      await next();
      ws.close(4002, 'client-bye');
      const [code] = (await once(ws, 'close')) as [number];
      assert.equal(code, 4002);
      await server.waitFor(/duplex site: WebSocket closed 4002 client-bye/, 10_000, from);
    });

    it(`${name}: HTTP/2 over TLS, several streams at once, a body streamed up while the answer streams down`, async () => {
      const session = await h2connect(server.httpsUrl!.replace('127.0.0.1', 'localhost'), ca);
      try {
        const plain = await Promise.all(Array.from({ length: 6 }, (_, i) => h2request(session, { ':path': `${at}/s${i}` })));
        for (const [i, res] of plain.entries()) {
          assert.equal(res.status, 200, res.body);
          const seen = JSON.parse(res.body) as { url: string; httpVersion: string };
          assert.deepEqual([seen.url, seen.httpVersion], [`/s${i}`, '2.0']);
        }
        const chunks = Array.from({ length: 4 }, (_, i) => `chunk-${i}-${'x'.repeat(1000 * i)}`);
        const echoes = await Promise.all([echoByChunk(session, at, chunks), echoByChunk(session, at, chunks)]);
        for (const seen of echoes) assert.deepEqual(seen, chunks);
      } finally {
        session.close();
      }
      // The plain port speaks HTTP/2 too (h2c, prior knowledge).
      const h2c = await h2connect(server.url);
      try {
        assert.deepEqual(await Promise.all([echoByChunk(h2c, at, ['one', 'two']), echoByChunk(h2c, at, ['three'])]), [['one', 'two'], ['three']]);
      } finally {
        h2c.close();
      }
    });
  }
});
