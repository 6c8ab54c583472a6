// Issue 26: the fetch adapter's fast paths, through the real server. A Response made
// from a string, bytes, an ArrayBuffer or nothing is written from its parts; every other
// shape, and one the app has read, goes through undici's Response as before. The
// Request is a facade over the IncomingMessage until the app reads its body (or
// anything else undici must make): reading it late, forwarding it with fetch(), and
// its signal read after the client left all behave as a real Request's would.
// Then a Hono app end to end.
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { fixture, killAll, startServer, type RunningServer } from '../helpers/server.js';

after(killAll);

async function get(base: string, path: string, init: Parameters<typeof request>[1] = {}) {
  const res = await request(new URL(path, base), init);
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** One raw request on a new connection; the whole answer once the server closes it. */
async function raw(port: number, head: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  socket.end(head);
  let out = '';
  socket.setEncoding('latin1').on('data', (d) => (out += d));
  await once(socket, 'close');
  return out;
}

describe('fetch apps: the bodies the server writes itself', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([fixture('fetch-fast/app.ts'), '--processes', '1']);
  });

  it('a string body: its UTF-8 length, and the default text/plain content type', async () => {
    const r = await get(server.url, '/string');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'héllo wörld');
    assert.equal(r.headers['content-length'], String(Buffer.byteLength('héllo wörld')));
    assert.equal(r.headers['content-type'], 'text/plain;charset=UTF-8');
    assert.equal(r.headers['transfer-encoding'], undefined);
  });

  it('Uint8Array and ArrayBuffer bodies: length, status, reason and headers as given (pairs and records)', async () => {
    const bytes = await get(server.url, '/bytes');
    assert.equal(bytes.text, 'hi');
    assert.equal(bytes.headers['content-length'], '2');
    assert.equal(bytes.headers['x-shape'], 'bytes');
    assert.equal(bytes.headers['content-type'], 'application/octet-stream');
    const head = await raw(server.port, 'GET /arraybuffer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 201 Made Here\r\n/);
    assert.match(head, /\r\nx-shape: arraybuffer\r\n/i);
    assert.match(head, /\r\ncontent-length: 2\r\n/i);
    assert.match(head, /\r\n\r\nok$/);
  });

  it('no body: Content-Length 0 for 200, nothing for 204 and 304', async () => {
    const empty = await get(server.url, '/empty');
    assert.equal(empty.status, 200);
    assert.equal(empty.headers['content-length'], '0');
    assert.equal(empty.text, '');
    for (const [path, status] of [['/no-content', 204], ['/not-modified', 304]] as const) {
      const answer = await raw(server.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `));
      assert.doesNotMatch(answer, /content-length|transfer-encoding/i);
      assert.match(answer, /\r\n\r\n$/, 'nothing after the head');
    }
  });

  it('HEAD: the head of the GET answer without a body, and the connection serves on', async () => {
    const socket = net.connect(server.port, '127.0.0.1');
    socket.write('HEAD /string HTTP/1.1\r\nHost: x\r\n\r\nGET /bytes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    let out = '';
    socket.setEncoding('latin1').on('data', (d) => (out += d));
    await once(socket, 'close');
    const [first, second] = out.split(/(?=HTTP\/1\.1 )/);
    assert.match(first!, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n$/);
    assert.match(second!, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nhi$/);
  });

  it('Response.json(): the status and the JSON content type', async () => {
    const r = await get(server.url, '/json');
    assert.equal(r.status, 202);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(r.text), { shape: 'json', n: 1 });
    assert.equal(r.headers['content-length'], String(r.text.length));
  });

  it('several Set-Cookie headers stay separate, from a Headers object and from pairs', async () => {
    const a = await get(server.url, '/cookies');
    assert.deepEqual(a.headers['set-cookie'], ['a=1; Path=/', 'b=2; HttpOnly']);
    const b = await get(server.url, '/cookie-pairs');
    assert.deepEqual(b.headers['set-cookie'], ['c=3', 'd=4']);
    assert.equal(b.text, 'pairs');
    const answer = await raw(server.port, 'GET /cookie-pairs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(answer, /x-multi: one\r\n[\s\S]*x-multi: two\r\n|x-multi: one, two\r\n/i);
  });

  it('connection headers from the app are dropped; the server frames the body, and keeps a length the app gave', async () => {
    const answer = await raw(server.port, 'GET /hop-by-hop HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.doesNotMatch(answer, /transfer-encoding|keep-alive: timeout=1/i);
    assert.match(answer, /\r\ncontent-length: 20\r\n[\s\S]*\r\n\r\nframed by the server$/i);
    const given = await get(server.url, '/length-given');
    assert.equal(given.headers['content-length'], '5');
    assert.equal(given.text, '12345');
  });

  it('headers changed after construction, a Response read (cloned) before it is returned, and one returned twice', async () => {
    const late = await get(server.url, '/headers-late');
    assert.equal(late.headers['x-late'], '2');
    assert.equal(late.headers['x-early'], undefined);
    assert.equal(late.text, 'late');
    const cloned = await get(server.url, '/read-before-return');
    assert.equal(cloned.text, 'read twice');
    assert.equal(cloned.headers['x-copy'], 'read twice');
    assert.equal(cloned.headers['content-length'], '10');
    for (let i = 0; i < 2; i++) {
      const same = await get(server.url, '/same-twice');
      assert.equal(same.text, 'the same object');
      assert.equal(same.headers['x-shape'], 'shared');
    }
  });

  it('streams and Blobs take the stream path as before', async () => {
    const stream = await get(server.url, '/stream');
    assert.equal(stream.text, 'part-1,part-2');
    assert.equal(stream.headers['transfer-encoding'], 'chunked');
    const blob = await get(server.url, '/blob');
    assert.equal(blob.text, 'a blob');
    assert.equal(blob.headers['content-type'], 'text/x-blob');
  });

  it('an invalid header, an unserialisable JSON body and a non-Response still get the 500 page', async () => {
    for (const path of ['/bad-header', '/bad-json', '/not-a-response']) {
      const r = await get(server.url, path);
      assert.equal(r.status, 500, path);
    }
    await server.waitFor(/returned an object \(Object\), not a Response/);
  });
});

describe('fetch apps: the Request facade', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([fixture('fetch-fast/app.ts'), '--processes', '1']);
  });

  it('is a Request to the app: instanceof, tag, clone(), new Request(request), headers, signal; and Response instanceof holds for fetch()es', async () => {
    const r = await get(server.url, '/identity', { headers: { 'user-agent': 'facade-test' } });
    assert.deepEqual(JSON.parse(r.text), {
      requestIsRequest: true,
      tag: '[object Request]',
      responseIsResponse: true,
      fetchedIsResponse: true,
      method: 'GET',
      bodyUsed: false,
      wrappedUrl: true,
      cloneUrl: true,
      headerHost: `127.0.0.1:${server.port}`,
      signalAborted: false,
    });
  });

  it('request.url is what undici would make of the target: dot segments, quotes, default ports, upper-case hosts', async () => {
    const cases: [string, string, string][] = [
      ['/url?x=1&y=2', `127.0.0.1:${server.port}`, `http://127.0.0.1:${server.port}/url?x=1&y=2`],
      ["/a/./b/../../url?q='v'", 'Example.COM:80', 'http://example.com/url?q=%27v%27'],
      ['/url/../url', 'localhost:8080', 'http://localhost:8080/url'],
      ['/url', '127.1:9000', 'http://127.0.0.1:9000/url'],
      ['/url?a%20b', 'localhost', 'http://localhost/url?a%20b'],
    ];
    for (const [target, host, expected] of cases) {
      const answer = await raw(server.port, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.match(answer, /^HTTP\/1\.1 200 /, target);
      assert.equal(answer.slice(answer.indexOf('\r\n\r\n') + 4), expected, target);
    }
  });

  it('a body read late (after the app awaited), streamed, and forwarded with fetch(new Request(url, request))', async () => {
    const body = 'x'.repeat(100_000);
    const late = await get(server.url, '/echo-late', { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
    assert.deepEqual(JSON.parse(late.text), { length: 100_000, head: 'xxxxx', bodyUsed: true, type: 'text/plain' });
    const streamed = await get(server.url, '/echo-stream', { method: 'PUT', body: 'abc'.repeat(1000) });
    assert.equal(streamed.text, '3000');
    const forwarded = await get(server.url, '/forward', { method: 'POST', body: 'forwarded body', headers: { 'content-type': 'text/x-forwarded' } });
    assert.deepEqual(JSON.parse(forwarded.text), { length: 14, head: 'forwa', bodyUsed: true, type: 'text/x-forwarded' });
  });

  it('a proxy passing the Request on to fetch(): the upstream request is aborted when the client leaves', async () => {
    const mark = server.output().length;
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write('GET /forward-slow HTTP/1.1\r\nHost: 127.0.0.1:' + server.port + '\r\n\r\n');
    await server.waitFor(/upstream waiting/, 15_000, mark);
    socket.destroy();
    await server.waitFor(/upstream ended: aborted/, 15_000, mark);
  });

  it('the signal, first read after the client left, is aborted', async () => {
    const mark = server.output().length;
    const socket = net.connect(server.port, '127.0.0.1');
    socket.write('GET /signal-late HTTP/1.1\r\nHost: x\r\n\r\n');
    await once(socket, 'data');
    socket.destroy();
    await server.waitFor(/signal read late: aborted=true/, 15_000, mark);
  });
});

describe('a Hono app end to end', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([fixture('fetch-fast/hono.ts'), '--processes', '1']);
  });

  it('routes, text and JSON bodies with their lengths, query strings', async () => {
    const hello = await get(server.url, '/');
    assert.equal(hello.text, 'Hello world!');
    assert.equal(hello.headers['content-length'], '12');
    assert.match(String(hello.headers['content-type']), /^text\/plain/);
    const json = await get(server.url, '/json?q=search');
    assert.deepEqual(JSON.parse(json.text), { hello: 'hono', query: 'search' });
    assert.match(String(json.headers['content-type']), /^application\/json/);
    const html = await get(server.url, '/html');
    assert.equal(html.text, '<p>hi</p>');
    assert.match(String(html.headers['content-type']), /^text\/html/);
  });

  it('request and response headers, status', async () => {
    const r = await get(server.url, '/headers', { headers: { 'user-agent': 'hono-test' } });
    assert.equal(r.status, 201);
    assert.equal(r.text, 'ua=hono-test');
    assert.equal(r.headers['x-custom'], 'yes');
    assert.equal(r.headers['cache-control'], 'no-store');
  });

  it('cookies both ways: two Set-Cookie lines, and the request cookie read', async () => {
    const r = await get(server.url, '/cookies', { headers: { cookie: 'incoming=42' } });
    assert.equal(r.text, 'got=42');
    const cookies = r.headers['set-cookie'] as string[];
    assert.equal(cookies.length, 2);
    assert.match(cookies[0]!, /^session=abc; Path=\/; HttpOnly$/);
    assert.match(cookies[1]!, /^theme=dark/);
  });

  it('a JSON request body, a redirect, 404, the raw Request, and onError', async () => {
    const posted = await get(server.url, '/json', { method: 'POST', body: JSON.stringify({ a: [1, 2] }), headers: { 'content-type': 'application/json' } });
    assert.deepEqual(JSON.parse(posted.text), { received: { a: [1, 2] } });
    const moved = await get(server.url, '/redirect');
    assert.equal(moved.status, 302);
    assert.equal(moved.headers.location, '/json?q=moved');
    const missing = await get(server.url, '/nowhere');
    assert.equal(missing.status, 404);
    assert.equal(missing.text, '404 Not Found');
    const raw = await get(server.url, '/raw?x=1');
    assert.deepEqual(JSON.parse(raw.text), { isRequest: true, url: new URL('/raw?x=1', server.url).href, method: 'GET' });
    const failed = await get(server.url, '/throws');
    assert.equal(failed.status, 500);
    assert.equal(failed.text, 'handled: hono-handler-failed');
  });

  it('HEAD on a route: Hono answers it from the GET handler, without a body', async () => {
    const answer = await raw(server.port, 'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n$/);
  });
});
