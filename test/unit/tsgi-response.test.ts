/**
 * Response sending through real sockets: body shapes, streaming, Content-Length
 * exactness, send-time rules, close()/return(), HEAD, and exceptions.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import type { Application, Chunk } from '../../src/index.js';
import { rawExchange, startTsgi, until, within, type Harness } from '../helpers/tsgi-harness.js';

const unhandled: unknown[] = [];
process.on('unhandledRejection', (err) => unhandled.push(err));

const agent = new Agent({ connections: 4 });
let app: Application = () => [];
let h: Harness;
let hDebug: Harness;

before(async () => {
  h = await startTsgi((environ, sr) => app(environ, sr));
  hDebug = await startTsgi((environ, sr) => app(environ, sr), { debugMode: true });
});
after(async () => {
  await h.close();
  await hDebug.close();
  await agent.close();
  assert.deepEqual(unhandled, [], 'no unhandled promise rejections');
});

async function get(path = '/', method = 'GET', harness = h) {
  const res = await request(harness.url + path, { method, dispatcher: agent });
  const body = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body };
}

function raw(method = 'GET', harness = h) {
  return rawExchange(harness.port, `${method} / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`);
}

function ok(sr: Parameters<Application>[1], headers: [string, string][] = []) {
  return sr('200 OK', [['Content-Type', 'text/plain'], ...headers]);
}

/** A body with close(), whose iterator records return(). */
class Tracked {
  closes = 0;
  returned = 0;
  constructor(private readonly gen: () => AsyncGenerator<Chunk> | Generator<Chunk>) {}
  [Symbol.asyncIterator]() {
    const it = this.gen();
    const self = this;
    return {
      next: () => Promise.resolve(it.next()),
      return: () => {
        self.returned++;
        return Promise.resolve(it.return(undefined));
      },
    };
  }
  close() {
    this.closes++;
  }
}

const errorsSince = (n: number) => h.log.errors().slice(n).join('\n');

describe('body shapes', () => {
  const shapes: [string, () => unknown][] = [
    ['string', () => 'héllo'],
    ['Uint8Array', () => new TextEncoder().encode('héllo')],
    ['one-element array', () => ['héllo']],
    ['multi-element array', () => ['h', new TextEncoder().encode('é'), '', 'llo']],
    ['generator', () => (function* () { yield 'hé'; yield ''; yield 'llo'; })()],
    ['async generator', () => (async function* () { yield 'hé'; await Promise.resolve(); yield 'llo'; })()],
    ['Readable', () => Readable.from([Buffer.from('hé'), Buffer.from('llo')])],
    ['promise of array', () => Promise.resolve(['héllo'])],
  ];
  for (const [name, make] of shapes) {
    test(name, async () => {
      app = (_env, sr) => {
        ok(sr);
        return make() as ReturnType<Application>;
      };
      const res = await get();
      assert.equal(res.status, 200);
      assert.equal(res.body, 'héllo');
    });
  }

  test('single chunk and arrays get a computed Content-Length; streams are chunked', async () => {
    app = (_env, sr) => (ok(sr), ['héllo']);
    assert.equal((await get()).headers['content-length'], '6');
    app = (_env, sr) => (ok(sr), ['a', 'bc']);
    assert.equal((await get()).headers['content-length'], '3');
    app = (_env, sr) => (ok(sr), (function* () { yield 'a'; })());
    const streamed = await get();
    assert.equal(streamed.headers['transfer-encoding'], 'chunked');
    assert.equal(streamed.headers['content-length'], undefined);
  });

  test('empty body gets Content-Length: 0', async () => {
    app = (_env, sr) => (ok(sr), (function* () {})());
    const res = await get();
    assert.equal(res.headers['content-length'], '0');
    assert.equal(res.body, '');
  });

  test('not a body -> 500 naming the rule', async () => {
    const n = h.log.errors().length;
    app = (_env, sr) => (ok(sr), 42 as unknown as string);
    assert.equal((await get()).status, 500);
    assert.match(errorsSince(n), /must return a string, a Uint8Array or an \(async\) iterable of them, got number/);
  });
});

describe('streaming', () => {
  test('a chunk reaches the client before the generator finishes', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let finished = false;
    app = (_env, sr) => {
      ok(sr);
      return (async function* () {
        yield 'first;';
        await gate;
        yield 'second';
        finished = true;
      })();
    };
    const res = await request(h.url, { dispatcher: agent });
    const it = res.body[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(Buffer.from(first.value).toString(), 'first;');
    assert.equal(finished, false);
    open();
    let rest = '';
    for (let s = await it.next(); !s.done; s = await it.next()) rest += Buffer.from(s.value).toString();
    assert.equal(rest, 'second');
    assert.equal(finished, true);
  });

  test('backpressure: a large sync stream to a paused client is not buffered whole', async () => {
    let produced = 0;
    const block = Buffer.alloc(64 * 1024, 120);
    const body = new Tracked(function* () {
      for (let i = 0; i < 1000; i++) {
        produced++;
        yield block;
      }
    });
    app = (_env, sr) => (ok(sr), body as unknown as AsyncIterable<Chunk>);
    const socket = net.connect(h.port, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    socket.pause();
    await new Promise((r) => setTimeout(r, 300));
    // 1000 blocks = 64 MiB; socket buffers hold only a few MiB.
    assert.ok(produced < 300, `produced ${produced} blocks while the client read nothing`);
    socket.destroy();
    await until(() => body.closes === 1);
    assert.equal(body.returned, 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(body.closes, 1);
  });
});

describe('Content-Length exactness', () => {
  test('extra bytes are dropped and logged', async () => {
    const n = h.log.errors().length;
    app = (_env, sr) => (ok(sr, [['Content-Length', '5']]), (function* () { yield 'abc'; yield 'defgh'; yield 'more'; })());
    const res = await raw();
    assert.match(res.text, /\r\n\r\nabcde$/);
    assert.match(errorsSince(n), /body longer than its Content-Length of 5 bytes; extra bytes dropped/);
  });

  test('extra bytes in a single chunk are dropped', async () => {
    app = (_env, sr) => (ok(sr, [['Content-Length', '3']]), ['abcdef']);
    const res = await get();
    assert.equal(res.body, 'abc');
  });

  test('a short body closes the connection so the client sees the truncation', async () => {
    const n = h.log.errors().length;
    app = (_env, sr) => (ok(sr, [['Content-Length', '10']]), (function* () { yield 'abc'; })());
    const socket = net.connect(h.port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => (text += d.toString('latin1')));
    // keep-alive request: only the server closing ends this connection
    socket.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    await within(once(socket, 'end'), 3000, 'the server closing the connection');
    socket.destroy();
    assert.match(text, /Content-Length: 10\r\n/);
    assert.match(text, /\r\n\r\nabc$/);
    assert.match(errorsSince(n), /body shorter than its Content-Length \(3 of 10 bytes\); connection closed/);
  });

  test('matching Content-Length is kept as given', async () => {
    app = (_env, sr) => (ok(sr, [['Content-Length', '3']]), (function* () { yield 'a'; yield 'bc'; })());
    const res = await get();
    assert.equal(res.headers['content-length'], '3');
    assert.equal(res.body, 'abc');
  });
});

describe('send-time rules', () => {
  const hop = ['Connection', 'Keep-Alive', 'Transfer-Encoding', 'Upgrade', 'Proxy-Authenticate', 'TE', 'Trailer'];
  for (const name of hop) {
    test(`hop-by-hop ${name} -> 500`, async () => {
      const n = h.log.errors().length;
      app = (_env, sr) => (ok(sr, [[name, 'x']]), ['body']);
      const res = await get();
      assert.equal(res.status, 500);
      assert.match(errorsSince(n), new RegExp(`hop-by-hop header ${name} is not allowed`));
    });
  }

  test('non-numeric Content-Length -> 500', async () => {
    const n = h.log.errors().length;
    app = (_env, sr) => (ok(sr, [['Content-Length', '12abc']]), ['body']);
    assert.equal((await get()).status, 500);
    assert.match(errorsSince(n), /Content-Length must be a non-negative integer, got "12abc"/);
  });

  test('bad chunk before output -> 500; close() called once', async () => {
    const n = h.log.errors().length;
    const body = new Tracked(function* () { yield ''; yield 7 as unknown as Chunk; });
    app = (_env, sr) => (ok(sr), body as unknown as AsyncIterable<Chunk>);
    assert.equal((await get()).status, 500);
    assert.match(errorsSince(n), /body item must be a string or Uint8Array, got number/);
    await until(() => body.closes === 1);
    assert.equal(body.returned, 1);
  });

  test('bad array item -> 500', async () => {
    app = (_env, sr) => (ok(sr), ['a', null] as unknown as string[]);
    assert.equal((await get()).status, 500);
  });

  test('bad chunk after output aborts the connection; return() and close() once', async () => {
    const n = h.log.errors().length;
    const body = new Tracked(function* () { yield 'partial'; yield { not: 'a chunk' } as unknown as Chunk; yield 'never'; });
    app = (_env, sr) => (ok(sr), body as unknown as AsyncIterable<Chunk>);
    const res = await raw();
    assert.match(res.text, /^HTTP\/1.1 200 OK/);
    assert.match(res.text, /partial/);
    assert.doesNotMatch(res.text, /never/);
    assert.doesNotMatch(res.text, /\r\n0\r\n\r\n$/, 'chunked body must not be terminated');
    assert.match(errorsSince(n), /body item must be a string or Uint8Array, got Object/);
    await until(() => body.closes === 1);
    assert.equal(body.returned, 1);
  });
});

describe('close() and return()', () => {
  test('close() exactly once after a normal end, no return()', async () => {
    const body = new Tracked(function* () { yield 'a'; yield 'b'; });
    app = (_env, sr) => (ok(sr), body as unknown as AsyncIterable<Chunk>);
    assert.equal((await get()).body, 'ab');
    await until(() => body.closes === 1);
    assert.equal(body.returned, 0);
  });

  test('close() on an array body with a close method', async () => {
    let closes = 0;
    const body = Object.assign(['x'], { close: () => void closes++ });
    app = (_env, sr) => (ok(sr), body);
    assert.equal((await get()).body, 'x');
    assert.equal(closes, 1);
  });

  test('close() exactly once when the iterator throws', async () => {
    const n = h.log.errors().length;
    const body = new Tracked(function* () { yield 'a'; throw new Error('generator broke'); });
    app = (_env, sr) => (ok(sr), body as unknown as AsyncIterable<Chunk>);
    await raw();
    await until(() => body.closes === 1);
    assert.match(errorsSince(n), /generator broke/);
    assert.equal(body.returned, 0);
  });

  test('client disconnect mid-stream: iteration stops, return() and close() once', async () => {
    let yielded = 0;
    let finallyRan = false;
    const body = new Tracked(async function* () {
      try {
        for (;;) {
          yielded++;
          yield 'tick\n';
          await new Promise((r) => setTimeout(r, 5));
        }
      } finally {
        finallyRan = true;
      }
    });
    app = (_env, sr) => (ok(sr), body as unknown as AsyncIterable<Chunk>);
    const socket = net.connect(h.port, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    await once(socket, 'data');
    socket.destroy();
    await until(() => body.closes === 1 && finallyRan);
    assert.equal(body.returned, 1);
    const at = yielded;
    await new Promise((r) => setTimeout(r, 60));
    assert.ok(yielded <= at + 1, 'iteration stopped promptly');
  });

  test('client disconnect while a Readable waits for data destroys it', async () => {
    const stream = new Readable({ read() {} });
    stream.push('first');
    app = (_env, sr) => (ok(sr), stream);
    const socket = net.connect(h.port, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    await once(socket, 'data');
    socket.destroy();
    await until(() => stream.destroyed);
  });

  test('a throwing close() is logged, not fatal', async () => {
    const n = h.log.errors().length;
    const body = Object.assign(['ok'], { close: () => Promise.reject(new Error('close failed')) });
    app = (_env, sr) => (ok(sr), body);
    assert.equal((await get()).body, 'ok');
    await until(() => /body close\(\) failed: Error: close failed/.test(errorsSince(n)));
  });
});

describe('HEAD', () => {
  test('app sees HEAD; no body is sent; Content-Length as for GET', async () => {
    let method = '';
    app = (env, sr) => {
      method = env.REQUEST_METHOD;
      ok(sr);
      return ['hello'];
    };
    const res = await raw('HEAD');
    assert.equal(method, 'HEAD');
    assert.match(res.text, /Content-Length: 5\r\n/);
    assert.match(res.text, /\r\n\r\n$/);
  });

  test('streamed HEAD stops after the first chunk and closes the body', async () => {
    const body = new Tracked(function* () { yield 'a'; yield 'b'; });
    app = (_env, sr) => (ok(sr), body as unknown as AsyncIterable<Chunk>);
    const res = await raw('HEAD');
    assert.match(res.text, /^HTTP\/1.1 200 OK/);
    assert.doesNotMatch(res.text, /\r\n\r\n.+/s);
    await until(() => body.closes === 1);
    assert.equal(body.returned, 1);
  });
});

describe('exceptions', () => {
  test('sync throw -> 500, stack logged with the request id, no stack on the page', async () => {
    const n = h.log.records.length;
    app = () => {
      throw new Error('kaboom in app');
    };
    const res = await get();
    assert.equal(res.status, 500);
    assert.equal(res.headers.connection, 'close');
    assert.doesNotMatch(res.body, /kaboom|Traceback/);
    const rec = h.log.records.slice(n).find((r) => r.level === 'error')!;
    assert.match(rec.message, /Error: kaboom in app\n\s+at /);
    assert.equal(rec.rid, h.ids.at(-1));
  });

  test('debug mode page shows the stack', async () => {
    app = () => {
      throw new Error('kaboom in debug');
    };
    const res = await get('/', 'GET', hDebug);
    assert.equal(res.status, 500);
    assert.match(res.body, /Traceback/);
    assert.match(res.body, /kaboom in debug/);
    assert.match(res.body, /at /);
  });

  test('async rejection -> 500', async () => {
    app = async () => {
      await Promise.resolve();
      throw new Error('async kaboom');
    };
    assert.equal((await get()).status, 500);
    assert.match(h.log.errors().at(-1)!, /async kaboom/);
  });

  test('non-Error thrown -> 500 and logged', async () => {
    app = () => {
      throw 'just a string';
    };
    assert.equal((await get()).status, 500);
    assert.match(h.log.errors().at(-1)!, /non-Error value thrown: just a string/);
  });

  test('exception after output aborts the connection', async () => {
    app = (_env, sr) => {
      ok(sr);
      return (async function* () {
        yield 'partial';
        throw new Error('late failure');
      })();
    };
    const res = await raw();
    assert.match(res.text, /partial/);
    assert.doesNotMatch(res.text, /\r\n0\r\n\r\n$/);
    await until(() => /late failure/.test(h.log.errors().at(-1) ?? ''));
  });
});
