/**
 * tsgi.input through real sockets: read(), read(n), read(0), iteration, chunked
 * uploads, a 1 MiB upload, pipelining, and keep-alive after an unread body.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import type { Application, Environ } from '../../src/index.js';
import { rawExchange, startTsgi, until, within, type Harness } from '../helpers/tsgi-harness.js';

const agent = new Agent({ connections: 2 });
let app: Application = () => [];
let h: Harness;

before(async () => {
  h = await startTsgi((environ, sr) => app(environ, sr));
});
after(async () => {
  await h.close();
  await agent.close();
});

const text = (b: Uint8Array) => Buffer.from(b).toString();

/** An async app answering with JSON of whatever `work` returns. */
function jsonApp(work: (env: Environ) => Promise<unknown>): Application {
  return async (env, sr) => {
    const result = await work(env);
    sr('200 OK', [['Content-Type', 'application/json']]);
    return [JSON.stringify(result)];
  };
}

async function post(body: string | Buffer | AsyncIterable<Buffer>, headers: Record<string, string> = {}) {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : Readable.from(body);
  const res = await request(h.url, { method: 'POST', body: payload, headers, dispatcher: agent });
  return { status: res.statusCode, json: (await res.body.json()) as unknown };
}

describe('read()', () => {
  test('read() returns the whole body', async () => {
    app = jsonApp(async (env) => text(await env['tsgi.input'].read()));
    assert.deepEqual((await post('hello body')).json, 'hello body');
  });

  test('read(n), read(0), read past the end, and empty reads at the end', async () => {
    app = jsonApp(async (env) => {
      const input = env['tsgi.input'];
      const parts = [await input.read(3), await input.read(0), await input.read(100), await input.read(), await input.read(5)];
      return parts.map(text);
    });
    assert.deepEqual((await post('abcdefghij')).json, ['abc', '', 'defghij', '', '']);
  });

  test('read(n) waits for n bytes across network chunks and never returns more', async () => {
    app = jsonApp(async (env) => {
      const sizes: number[] = [];
      for (let b = await env['tsgi.input'].read(1000); b.length > 0; b = await env['tsgi.input'].read(1000)) {
        sizes.push(b.length);
      }
      return sizes;
    });
    async function* slow() {
      for (let i = 0; i < 5; i++) {
        yield Buffer.alloc(700, 97);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    assert.deepEqual((await post(slow())).json, [1000, 1000, 1000, 500]);
  });

  test('a bad size is rejected', async () => {
    app = jsonApp(async (env) => {
      try {
        await env['tsgi.input'].read(-1);
        return 'accepted';
      } catch (err) {
        return String(err);
      }
    });
    assert.match((await post('x')).json as string, /non-negative integer size/);
  });

  test('GET: read() is empty; nothing is attached to the request until the first read', async () => {
    let listenersBefore = -1;
    app = jsonApp(async (env) => {
      const req = (env as unknown as { 'tsgi.input': { req: import('node:http').IncomingMessage } })['tsgi.input'].req;
      listenersBefore = req.listenerCount('readable') + req.listenerCount('end') + req.listenerCount('data');
      return (await env['tsgi.input'].read()).length;
    });
    const res = await request(h.url, { dispatcher: agent });
    assert.equal(await res.body.json(), 0);
    assert.equal(listenersBefore, 0);
  });
});

describe('iteration and uploads', () => {
  test('for await yields the body', async () => {
    app = jsonApp(async (env) => {
      let all = '';
      for await (const chunk of env['tsgi.input']) all += text(chunk);
      return all;
    });
    assert.deepEqual((await post('iterate me')).json, 'iterate me');
  });

  test('chunked request body', async () => {
    app = jsonApp(async (env) => ({ te: env.HTTP_TRANSFER_ENCODING, body: text(await env['tsgi.input'].read()) }));
    async function* parts() {
      yield Buffer.from('chunk-one;');
      yield Buffer.from('chunk-two');
    }
    assert.deepEqual((await post(parts())).json, { te: 'chunked', body: 'chunk-one;chunk-two' });
  });

  test('1 MiB upload arrives byte-exact (hashed), read in pieces', async () => {
    const data = randomBytes(1024 * 1024);
    app = jsonApp(async (env) => {
      const hash = createHash('sha256');
      let total = 0;
      for (let b = await env['tsgi.input'].read(65_521); b.length > 0; b = await env['tsgi.input'].read(65_521)) {
        hash.update(b);
        total += b.length;
      }
      return { total, sha: hash.digest('hex') };
    });
    const res = await post(data);
    assert.deepEqual(res.json, { total: data.length, sha: createHash('sha256').update(data).digest('hex') });
  });
});

describe('large bodies and backpressure', () => {
  test('read() of a body far above the buffer limit returns all of it', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    app = jsonApp(async (env) => {
      const all = await env['tsgi.input'].read();
      return { total: all.length, sha: createHash('sha256').update(all).digest('hex') };
    });
    const res = await post(data);
    assert.deepEqual(res.json, { total: data.length, sha: createHash('sha256').update(data).digest('hex') });
  });

  test('a reader that stops reading pauses the request instead of buffering the body', async () => {
    let buffered = -1;
    app = jsonApp(async (env) => {
      const input = env['tsgi.input'];
      await input.read(1); // starts the flow
      await new Promise((r) => setTimeout(r, 300)); // the client keeps sending meanwhile
      buffered = (input as unknown as { buffered: number }).buffered;
      let rest = 0;
      for await (const chunk of input) rest += chunk.length;
      return rest + 1;
    });
    const size = 8 * 1024 * 1024;
    const res = await post(randomBytes(size));
    assert.equal(res.json, size);
    assert.ok(buffered > 0 && buffered < 2 * 1024 * 1024, `buffered ${buffered} bytes while not reading`);
  });
});

describe('client disconnect', () => {
  test('a read waiting for more body rejects when the client goes away', async () => {
    let outcome: Promise<string> | undefined;
    app = (env, sr) => {
      outcome = env['tsgi.input'].read().then(
        () => 'resolved',
        (err: Error) => err.message,
      );
      sr('200 OK', []);
      return (async function* () {
        yield await outcome!;
      })();
    };
    const socket = net.connect(h.port, '127.0.0.1');
    socket.write('POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly ten b');
    await until(() => outcome !== undefined); // the app is waiting for the other 90 bytes
    socket.destroy();
    assert.match(await within(outcome!, 3000, 'the read settling'), /tsgi.input: request body read error/);
  });
});

describe('connection reuse', () => {
  test('pipelined requests each see only their own body', async () => {
    app = jsonApp(async (env) => text(await env['tsgi.input'].read()));
    const one = 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nfirst';
    const two = 'POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nsec\r\n3\r\nond\r\n0\r\n\r\n';
    const three = 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nthird';
    const res = await rawExchange(h.port, one + two + three, 2000);
    const bodies = [...res.text.matchAll(/\r\n\r\n("[^"]*")/g)].map((m) => JSON.parse(m[1]!));
    assert.deepEqual(bodies, ['first', 'second', 'third']);
  });

  async function twoOnOneConnection(firstBody: string, read: (env: Environ) => Promise<unknown>) {
    app = jsonApp(async (env) => (env.REQUEST_METHOD === 'POST' ? read(env) : 'second ok'));
    const socket = net.connect(h.port, '127.0.0.1');
    let received = '';
    socket.on('data', (d) => (received += d.toString('latin1')));
    socket.write(`POST / HTTP/1.1\r\nHost: t\r\nContent-Length: ${firstBody.length}\r\n\r\n${firstBody}`);
    const deadline = Date.now() + 3000;
    const waitFor = async (re: RegExp) => {
      while (!re.test(received)) {
        if (Date.now() > deadline) throw new Error(`no ${re} in ${JSON.stringify(received.slice(0, 300))}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await waitFor(/^HTTP\/1.1 200/);
    socket.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    await waitFor(/"second ok"/);
    socket.destroy();
  }

  test('keep-alive works after a completely unread body', async () => {
    await twoOnOneConnection('x'.repeat(10), async () => 'ignored the body');
  });

  test('keep-alive works after a large, partly read body', async () => {
    await twoOnOneConnection('y'.repeat(300_000), async (env) => (await env['tsgi.input'].read(10)).length);
  });
});
