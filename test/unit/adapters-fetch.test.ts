import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { createFetchHandler, type FetchFunction } from '../../src/adapters/fetch.js';
import type { Environ } from '../../src/index.js';
import { debugErrorPage, serve, type Harness } from './adapters-harness.js';

const servers: Harness[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

async function fetchApp(fn: FetchFunction, mount = '/'): Promise<Harness> {
  const h = await serve((opts) => createFetchHandler(fn, opts), mount);
  servers.push(h);
  return h;
}

describe('fetch adapter: the request', () => {
  it('carries the public URL (mount point included), method and environ paths', async () => {
    let seen: { url: string; method: string; environ: Environ } | undefined;
    const h = await fetchApp((req, environ) => {
      seen = { url: req.url, method: req.method, environ };
      return new Response('ok');
    }, '/sub');
    const res = await request(`${h.url}/sub/a%20b/c?x=1&y=2`, { method: 'DELETE' });
    assert.equal(await res.body.text(), 'ok');
    assert.equal(seen!.url, `${h.url}/sub/a%20b/c?x=1&y=2`);
    assert.equal(seen!.method, 'DELETE');
    assert.equal(seen!.environ.SCRIPT_NAME, '/sub');
    assert.equal(seen!.environ.PATH_INFO, '/a b/c');
    assert.equal(seen!.environ.QUERY_STRING, 'x=1&y=2');
    assert.equal(seen!.environ.REMOTE_ADDR, '127.0.0.1');
    assert.equal(seen!.environ.FROM_SETENV, 'yes');
  });

  it('refuses a Host that would put a path into the URL, without calling the app', async () => {
    let called = false;
    const h = await fetchApp((req) => {
      called = true;
      return new Response(new URL(req.url).pathname);
    });
    for (const host of ['x/json?', 'a.example/evil', 'h#frag', 'user@h', 'h:80x']) {
      const res = await request(`${h.url}/hello`, { headers: { host } });
      assert.equal(res.statusCode, 400, host);
      await res.body.dump();
    }
    assert.equal(called, false);
    const ok = await request(`${h.url}/hello`, { headers: { host: 'Example.COM:8080' } });
    assert.equal(await ok.body.text(), '/hello');
  });

  it('answers TRACE, which a fetch Request cannot carry, with 405 without calling the app', async () => {
    let called = false;
    const h = await fetchApp(() => {
      called = true;
      return new Response('no');
    });
    const res = await request(h.url, { method: 'TRACE' });
    assert.equal(res.statusCode, 405);
    assert.match(await res.body.text(), /no Request for the TRACE method/);
    assert.equal(called, false);
  });

  it("gives Hono's Node helpers c.env.incoming and c.env.outgoing, as @hono/node-server does", async () => {
    let seen: { address?: string; sameRes: boolean } | undefined;
    const h = await fetchApp((_req, environ) => {
      const incoming = environ.incoming as IncomingMessage;
      seen = { address: incoming.socket.remoteAddress, sameRes: (environ.outgoing as ServerResponse).req === incoming };
      return new Response('ok');
    });
    await (await request(h.url)).body.dump();
    assert.deepEqual(seen, { address: '127.0.0.1', sameRes: true });
  });

  it('has the filtered headers: X_User and Proxy absent, repeats joined', async () => {
    let headers: [string, string][] = [];
    let environ: Environ | undefined;
    const h = await fetchApp((req, env) => {
      headers = [...req.headers];
      environ = env;
      return new Response(null, { status: 204 });
    });
    const res = await request(h.url, {
      headers: ['X_User', 'admin', 'Proxy', 'http://evil', 'X-Tag', 'a', 'X-Tag', 'b', 'X-User', 'bob'],
    });
    assert.equal(res.statusCode, 204);
    await res.body.dump();
    const names = headers.map(([n]) => n);
    assert.ok(!names.includes('x_user') && !names.includes('proxy'), names.join());
    assert.deepEqual(headers.find(([n]) => n === 'x-tag'), ['x-tag', 'a, b']);
    assert.equal(environ!.HTTP_X_USER, 'bob');
    assert.equal(environ!.HTTP_PROXY, undefined);
  });

  it('streams a JSON body and a 1 MiB upload', async () => {
    const h = await fetchApp(async (req) => {
      if (req.headers.get('content-type') === 'application/json') return Response.json(await req.json());
      const bytes = new Uint8Array(await req.arrayBuffer());
      return new Response(createHash('sha256').update(bytes).digest('hex'));
    });
    const json = await request(h.url, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: [1, 2] }),
    });
    assert.deepEqual(await json.body.json(), { a: [1, 2] });
    const upload = Buffer.alloc(1024 * 1024, 'x');
    const res = await request(h.url, { method: 'PUT', body: upload });
    assert.equal(await res.body.text(), createHash('sha256').update(upload).digest('hex'));
  });

  it('gives GET and HEAD no body, and tsgi.input reads through the Request body', async () => {
    let getBody: unknown = 'unset';
    const h = await fetchApp(async (req, environ) => {
      if (req.method === 'GET') getBody = req.body;
      const input = await environ['tsgi.input'].read();
      return new Response(Buffer.from(input).toString() || 'empty');
    });
    assert.equal(await (await request(h.url)).body.text(), 'empty');
    assert.equal(getBody, null);
    const res = await request(h.url, { method: 'POST', body: 'via input' });
    assert.equal(await res.body.text(), 'via input');
  });
});

describe('fetch adapter: keep-alive', () => {
  it('discards a body the app read only partly or not at all, so the connection goes on', async () => {
    const h = await fetchApp(async (req) => {
      if (req.url.endsWith('/partial')) await req.body!.getReader().read();
      return new Response('ok');
    });
    const agent = new Agent({ connections: 1 });
    try {
      for (const path of ['/partial', '/ignore', '/partial']) {
        const res = await request(h.url + path, {
          method: 'POST', body: Buffer.alloc(4 * 1024 * 1024), dispatcher: agent, headersTimeout: 5000,
        });
        assert.equal(await res.body.text(), 'ok', path);
      }
      assert.equal(await (await request(h.url, { dispatcher: agent, headersTimeout: 5000 })).body.text(), 'ok');
    } finally {
      await agent.close();
    }
  });
});

describe('fetch adapter: the response', () => {
  it('sends a whole body with Content-Length and keeps repeated Set-Cookie', async () => {
    const h = await fetchApp(() => {
      const headers = new Headers({ 'content-type': 'text/plain' });
      headers.append('set-cookie', 'a=1; Path=/');
      headers.append('set-cookie', 'b=2; HttpOnly');
      return new Response('héllo', { status: 201, statusText: 'Made', headers });
    });
    const res = await request(h.url);
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers['content-length'], '6');
    assert.equal(res.headers['transfer-encoding'], undefined);
    assert.deepEqual(res.headers['set-cookie'], ['a=1; Path=/', 'b=2; HttpOnly']);
    assert.equal(await res.body.text(), 'héllo');
  });

  it("drops the app's connection headers, so an upstream's transfer-encoding cannot clash with Content-Length", async () => {
    const h = await fetchApp(
      () => new Response('abc', { headers: { 'transfer-encoding': 'chunked', connection: 'close', 'keep-alive': 'timeout=99', 'x-kept': 'yes' } }),
    );
    const socket = net.connect(Number(new URL(h.url).port), '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    let raw = '';
    socket.on('data', (d) => (raw += d));
    await once(socket, 'close');
    const head = raw.slice(0, raw.indexOf('\r\n\r\n')).toLowerCase();
    assert.match(head, /\r\ncontent-length: 3(\r\n|$)/);
    assert.doesNotMatch(head, /transfer-encoding|keep-alive: timeout=99/);
    assert.match(head, /\r\nx-kept: yes/);
    assert.ok(raw.endsWith('\r\n\r\nabc'), raw);
  });

  it('streams chunks as they are produced', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const h = await fetchApp(() => {
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(new TextEncoder().encode('data: one\n\n'));
          await released;
          controller.enqueue(new TextEncoder().encode('data: two\n\n'));
          controller.close();
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    });
    const res = await request(h.url);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    const chunks: string[] = [];
    for await (const chunk of res.body) {
      chunks.push(chunk.toString());
      if (chunks.length === 1) release();
    }
    assert.deepEqual(chunks, ['data: one\n\n', 'data: two\n\n']);
  });

  it('sends the status and headers before a stream has its first chunk', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const h = await fetchApp(() => {
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await released; // an event stream with no event yet
          controller.enqueue(new TextEncoder().encode('data: late\n\n'));
          controller.close();
        },
      });
      return new Response(body, { status: 201, headers: { 'content-type': 'text/event-stream' } });
    });
    // undici resolves request() once the head has arrived: before the first chunk is released.
    const res = await request(h.url);
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers['content-type'], 'text/event-stream');
    release();
    assert.equal(await res.body.text(), 'data: late\n\n');
  });

  it('sends HEAD without a body', async () => {
    const h = await fetchApp(() => new Response('body text', { headers: { 'content-length': '9' } }));
    const res = await request(h.url, { method: 'HEAD' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-length'], '9');
    assert.equal(await res.body.text(), '');
  });

  it('respects backpressure from a slow client', async () => {
    let produced = 0;
    const h = await fetchApp(() => {
      const chunk = new Uint8Array(64 * 1024);
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          produced += chunk.length;
          if (produced > 256 * 1024 * 1024) controller.close();
          else controller.enqueue(chunk);
        },
      });
      return new Response(body);
    });
    const socket = net.connect(Number(new URL(h.url).port), '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await once(socket, 'data');
    socket.pause();
    await new Promise((r) => setTimeout(r, 300));
    socket.destroy();
    assert.ok(produced < 64 * 1024 * 1024, `produced ${produced} bytes for a client that stopped reading`);
  });
});

describe('fetch adapter: failures and disconnects', () => {
  it('answers 500 and logs the stack for a throw, a rejection and a non-Response', async () => {
    const h = await fetchApp((req) => {
      const path = new URL(req.url).pathname;
      if (path === '/throw') throw new Error('thrown-marker');
      if (path === '/reject') return Promise.reject(new Error('rejected-marker'));
      return { not: 'a response' } as unknown as Response;
    });
    for (const path of ['/throw', '/reject', '/object']) {
      const res = await request(h.url + path);
      assert.equal(res.statusCode, 500, path);
      assert.doesNotMatch(await res.body.text(), /marker/);
    }
    const log = h.logged.join('\n');
    assert.match(log, /error t\d+ Error: thrown-marker\n\s+at /);
    assert.match(log, /rejected-marker/);
    assert.match(log, /returned an object \(Object\), not a Response/);
  });

  it('shows the stack in the 500 page in debug mode', async () => {
    const page = await debugErrorPage(servers, (app, opts) => createFetchHandler(app, opts));
    assert.equal(page.status, 500);
    assert.match(page.body, /debug-marker/);
  });

  it('aborts request.signal and cancels the body when the client goes away mid-stream', async () => {
    let aborted!: () => void;
    let cancelled!: () => void;
    const sawAbort = new Promise<void>((r) => (aborted = r));
    const sawCancel = new Promise<void>((r) => (cancelled = r));
    const h = await fetchApp((req) => {
      req.signal.addEventListener('abort', () => aborted());
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('first'));
        },
        cancel() {
          cancelled();
        },
      });
      return new Response(body);
    });
    const socket = net.connect(Number(new URL(h.url).port), '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await once(socket, 'data');
    socket.destroy();
    await Promise.all([sawAbort, sawCancel]);
  });

  it('request.signal, made on first use, follows the client into clones, new Request(request) and late reads', async () => {
    const signals: Record<string, AbortSignal> = {};
    let late!: (signal: AbortSignal) => void;
    const lateRead = new Promise<AbortSignal>((r) => (late = r));
    const h = await fetchApp((req) => {
      const path = new URL(req.url).pathname;
      if (path === '/done') {
        signals.done = req.signal;
        return new Response('ok');
      }
      if (path === '/late') {
        // The signal is read for the first time only after the client has gone: aborted already.
        return new Response(new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('x'));
          },
          cancel() {
            setImmediate(() => late(req.signal));
          },
        }));
      }
      signals.clone = req.clone().signal;
      signals.wrapped = new Request(req).signal;
      signals.own = req.signal;
      return new Response(new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('x'));
        },
      }));
    });
    assert.equal(await (await request(h.url + '/done')).body.text(), 'ok');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(signals.done!.aborted, false, 'a completed response does not abort its signal');
    for (const path of ['/stream', '/late']) {
      const socket = net.connect(Number(new URL(h.url).port), '127.0.0.1');
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await once(socket, 'data');
      socket.destroy();
    }
    assert.equal((await lateRead).aborted, true);
    for (let i = 0; i < 50 && !signals.wrapped!.aborted; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(signals.own!.aborted, true);
    assert.equal(signals.clone!.aborted, true);
    assert.equal(signals.wrapped!.aborted, true);
  });
});
