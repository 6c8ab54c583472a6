// --compress-responses through the real server: static files and the responses of
// every interface (TSGI, fetch, Express), decompressed and compared byte for byte;
// what is left alone (small, binary, Range, encoded, no-transform); precompressed
// siblings; HEAD; the ETag suffix and 304; a streamed page reaching the client
// before the application has finished it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, createGunzip, gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { fixture, killAll, startServer, type RunningServer } from '../helpers/server.js';
import { CSS, curl, makeSite, rawGet, type TestSite } from '../helpers/static-site.js';
import { STREAM_CHUNKS, TEXT } from '../fixtures/compress/text.js';

let site: TestSite;
before(() => {
  site = makeSite();
});
after(() => {
  killAll();
  site.remove();
});

function decode(encoding: string | undefined, body: Buffer): string {
  if (encoding === 'br') return brotliDecompressSync(body).toString();
  if (encoding === 'gzip') return gunzipSync(body).toString();
  assert.equal(encoding, undefined);
  return body.toString();
}

describe('static files', { timeout: 120_000 }, () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startServer([site.app, '--document-root', site.root, '--compress-responses']);
    base = server.url.replace(/\/$/, '');
  });

  it('brotli or gzip as Accept-Encoding prefers, with Vary, decompressing to the file', async () => {
    for (const [accept, coding] of [['br', 'br'], ['gzip', 'gzip'], ['gzip, deflate, br', 'br'], ['br;q=0.5, gzip', 'gzip'], ['*', 'br']] as const) {
      const r = await curl(`${base}/style.css`, ['-H', `Accept-Encoding: ${accept}`]);
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-encoding'], coding, accept);
      assert.equal(r.headers.vary, 'Accept-Encoding');
      assert.equal(r.headers['content-length'], undefined);
      assert.ok(r.body.length < CSS.length / 4, 'compressed');
      assert.equal(decode(coding, r.body), CSS);
      assert.match(r.headers.etag!, new RegExp(`-${coding}"$`));
    }
    const plain = await curl(`${base}/style.css`);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.headers.vary, 'Accept-Encoding', 'a cache must know the body depends on it');
    assert.equal(plain.headers['content-length'], String(CSS.length));
    assert.equal(plain.body.toString(), CSS);
    const refused = await curl(`${base}/style.css`, ['-H', 'Accept-Encoding: gzip;q=0, identity']);
    assert.equal(refused.headers['content-encoding'], undefined);
  });

  it('left alone: small files, binary types, Range requests', async () => {
    const small = await curl(`${base}/small.txt`, ['-H', 'Accept-Encoding: gzip']);
    assert.equal(small.headers['content-encoding'], undefined);
    assert.equal(small.body.toString(), 'small text\n');
    const binary = await curl(`${base}/data.bin`, ['-H', 'Accept-Encoding: gzip']);
    assert.equal(binary.headers['content-encoding'], undefined);
    assert.ok(binary.body.equals(site.binary));
    const range = await curl(`${base}/style.css`, ['-H', 'Accept-Encoding: gzip', '-H', 'Range: bytes=10-29']);
    assert.equal(range.status, 206);
    assert.equal(range.headers['content-encoding'], undefined);
    assert.equal(range.body.toString(), CSS.slice(10, 30));
  });

  it('a precompressed sibling at least as new is sent instead; a stale one is ignored', async () => {
    const br = await curl(`${base}/app.js`, ['-H', 'Accept-Encoding: gzip, br']);
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(br.headers.vary, 'Accept-Encoding');
    assert.equal(decode('br', br.body), 'PRECOMPRESSED BROTLI\n');
    assert.equal(Number(br.headers['content-length']), br.body.length);
    const gz = await curl(`${base}/app.js`, ['-H', 'Accept-Encoding: gzip']);
    assert.equal(decode('gzip', gz.body), 'PRECOMPRESSED GZIP\n');
    const none = await curl(`${base}/app.js`);
    assert.equal(none.body.toString(), 'console.log("plain");\n'.repeat(100));
    const stale = await curl(`${base}/stale.css`, ['-H', 'Accept-Encoding: gzip']);
    assert.equal(stale.headers['content-encoding'], 'gzip');
    assert.equal(decode('gzip', stale.body), CSS);
  });

  it('HEAD gets the headers a GET gets, and no body', async () => {
    const head = await rawGet(server.port, '/style.css', { 'Accept-Encoding': 'gzip' }, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-encoding'], 'gzip');
    assert.equal(head.headers.vary, 'Accept-Encoding');
    assert.equal(head.headers['content-length'], undefined);
    assert.equal(head.body.length, 0);
  });

  it('the compressed variant revalidates: If-None-Match with its ETag gives 304 with that ETag', async () => {
    const first = await curl(`${base}/style.css`, ['-H', 'Accept-Encoding: gzip']);
    const again = await curl(`${base}/style.css`, ['-H', 'Accept-Encoding: gzip', '-H', `If-None-Match: ${first.headers.etag}`]);
    assert.equal(again.status, 304);
    assert.equal(again.headers.etag, first.headers.etag);
    assert.equal(again.headers.vary, 'Accept-Encoding');
  });
});

describe('application responses, every interface', { timeout: 120_000 }, () => {
  const servers: Record<string, RunningServer> = {};
  before(async () => {
    for (const name of ['tsgi', 'fetch', 'express']) {
      servers[name] = await startServer([fixture(`compress/${name}.ts`), '--compress-responses']);
    }
  });

  for (const name of ['tsgi', 'fetch', 'express']) {
    it(`${name}: a whole body and a 2 MiB streamed one, decompressed and compared`, async () => {
      const base = servers[name]!.url.replace(/\/$/, '');
      for (const coding of ['gzip', 'br']) {
        const text = await curl(`${base}/text`, ['-H', `Accept-Encoding: ${coding}`]);
        assert.equal(text.status, 200);
        assert.equal(text.headers['content-encoding'], coding);
        assert.match(text.headers.vary!, /Accept-Encoding/);
        assert.equal(decode(coding, text.body), TEXT);
        const stream = await curl(`${base}/stream`, ['-H', `Accept-Encoding: ${coding}`]);
        assert.equal(stream.headers['content-encoding'], coding);
        assert.equal(decode(coding, stream.body), STREAM_CHUNKS.join(''));
      }
      const plain = await curl(`${base}/text`);
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.equal(plain.body.toString(), TEXT);
    });
  }

  it('express: res.json is compressed too', async () => {
    const r = await curl(`${servers.express!.url}json`, ['-H', 'Accept-Encoding: gzip']);
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.deepEqual(JSON.parse(decode('gzip', r.body)), { text: TEXT });
  });

  it('tsgi: a strong ETag gets the coding; small, binary, encoded and no-transform bodies are left alone; SVG is compressed', async () => {
    const base = servers.tsgi!.url.replace(/\/$/, '');
    assert.equal((await curl(`${base}/text`, ['-H', 'Accept-Encoding: gzip'])).headers.etag, '"v1-gzip"');
    for (const path of ['/small', '/image', '/encoded', '/no-transform']) {
      const r = await curl(`${base}${path}`, ['-H', 'Accept-Encoding: gzip']);
      assert.notEqual(r.headers['content-encoding'], 'gzip', path);
    }
    assert.equal((await curl(`${base}/encoded`, ['-H', 'Accept-Encoding: gzip'])).body.toString(), TEXT);
    const svg = await curl(`${base}/svg`, ['-H', 'Accept-Encoding: br']);
    assert.equal(svg.headers['content-encoding'], 'br');
    assert.match(decode('br', svg.body), /^<svg/);
  });

  it('tsgi: a streamed page reaches the client as it is produced, not when the app finishes', async () => {
    const started = performance.now();
    const res = await request(`${servers.tsgi!.url}slow`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.headers['content-encoding'], 'gzip');
    const gunzip = createGunzip();
    res.body.pipe(gunzip);
    let text = '';
    let firstAt = 0;
    for await (const chunk of gunzip) {
      text += chunk;
      if (firstAt === 0 && text.includes('first part')) firstAt = performance.now();
    }
    const doneAt = performance.now();
    assert.equal(text, 'first part ' + TEXT + 'second part');
    // The app waits 1.5 s between its two parts: the first arrived well before the end.
    assert.ok(doneAt - firstAt > 1000, `first part at ${Math.round(firstAt - started)} ms, end at ${Math.round(doneAt - started)} ms`);
  });
});
