/**
 * startResponse() rules through real sockets: each invalid call throws inside
 * the app (so the app's unhandled exception becomes a 500 with the rule logged),
 * and the re-call rules before and after output.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import type { Application, Header } from '../../src/index.js';
import { checkRecall, parseStart } from '../../src/tsgi/start-response.js';
import { startTsgi, until, type Harness } from '../helpers/tsgi-harness.js';

const agent = new Agent({ connections: 4 });
let app: Application = () => [];
let h: Harness;

before(async () => {
  h = await startTsgi((environ, startResponse) => app(environ, startResponse));
});
after(async () => {
  await h.close();
  await agent.close();
});

async function get(path = '/', method = 'GET') {
  const res = await request(h.url + path, { method, dispatcher: agent });
  const body = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body };
}

/** Runs an app whose startResponse() call must throw; returns the logged error text. */
async function expectRule(status: unknown, headers: unknown, rule: RegExp): Promise<void> {
  const before = h.log.errors().length;
  app = (_env, sr) => {
    (sr as (s: unknown, h: unknown) => unknown)(status, headers);
    return ['should not be sent'];
  };
  const res = await get();
  assert.equal(res.status, 500);
  assert.equal(res.headers.connection, 'close');
  assert.doesNotMatch(res.body, /should not be sent/);
  await until(() => h.log.errors().length > before);
  const logged = h.log.errors().slice(before).join('\n');
  assert.match(logged, rule);
  assert.match(logged, /ResponseRuleError/);
}

describe('valid startResponse() calls', () => {
  test('status, reason and repeated headers reach the client', async () => {
    app = (_env, sr) => {
      sr('201 Made It', [
        ['Content-Type', 'text/plain'],
        ['X-Rep', 'one'],
        ['X-Rep', 'two'],
        ['X-Latin', 'caf\u00e9\ttab'],
      ]);
      return ['ok'];
    };
    const res = await request(h.url, { dispatcher: agent });
    await res.body.text();
    assert.equal(res.statusCode, 201);
    assert.equal(res.statusText, 'Made It');
    assert.deepEqual(res.headers['x-rep'], ['one', 'two']);
    assert.equal(Buffer.from(res.headers['x-latin'] as string, 'latin1').toString('latin1'), 'caf\u00e9\ttab');
  });

  test('200-599 accepted, empty reason allowed, tchar names accepted', () => {
    for (const s of ['200 OK', '599 Custom', '404 ', '302 Found']) assert.doesNotThrow(() => parseStart(s, []));
    assert.doesNotThrow(() => parseStart('200 OK', [["!#$%&'*+-.^_`|~09azAZ", 'v']]));
    const start = parseStart('200 OK', [['Content-Length', ' 12 ']]);
    assert.equal(start.contentLength, 12);
  });
});

describe('invalid startResponse() calls -> 500 naming the rule', () => {
  const statusCases: [unknown, RegExp][] = [
    [200, /status must be a string/],
    ['200', /three digits 200-599, a space/],
    ['200OK', /three digits 200-599, a space/],
    ['199 Too Low', /three digits 200-599/],
    ['600 Too High', /three digits 200-599/],
    ['2x0 Bad', /three digits 200-599/],
    ['20 OK', /three digits 200-599/],
    ['200 Bad\r\nX-Injected: 1', /must not contain control characters/],
    ['200 Tab\there', /must not contain control characters/],
    ['200 Snow \u2603', /status must be latin-1/],
  ];
  for (const [status, rule] of statusCases) {
    test(`status ${JSON.stringify(status)}`, () => expectRule(status, [], rule));
  }

  const headerCases: [string, unknown, RegExp][] = [
    ['headers not an array', { 'Content-Type': 'text/plain' }, /headers must be an array of \[name, value\] pairs/],
    ['pair of three', [['A', 'b', 'c']], /header #0 must be a \[name, value\] pair/],
    ['not a pair', ['A: b'], /header #0 must be a \[name, value\] pair/],
    ['number value', [['X-N', 1]], /header #0 name and value must both be strings/],
    ['empty name', [['', 'v']], /must be an HTTP token/],
    ['space in name', [['Bad Name', 'v']], /must be an HTTP token/],
    ['colon in name', [['Bad:Name', 'v']], /must be an HTTP token/],
    ['non-ascii name', [['Caf\u00e9', 'v']], /must be an HTTP token/],
    ['CR LF in value', [['X-A', 'a\r\nX-B: b']], /must not contain CR, LF, NUL/],
    ['LF in value', [['X-A', 'a\nb']], /must not contain CR, LF, NUL/],
    ['NUL in value', [['X-A', 'a\u0000b']], /must not contain CR, LF, NUL/],
    ['non latin-1 value', [['X-A', 'snow \u2603']], /must be latin-1/],
  ];
  for (const [name, headers, rule] of headerCases) {
    test(name, () => expectRule('200 OK', headers, rule));
  }

  test('excInfo that is not an Error', () => {
    assert.throws(() => checkRecall(false, 'oops'), /excInfo must be an Error or undefined/);
  });
});

describe('re-calling startResponse()', () => {
  test('before output the last call wins', async () => {
    app = (_env, sr) => {
      sr('200 OK', [['X-First', '1']]);
      sr('202 Accepted', [['X-Second', '2']]);
      return ['second'];
    };
    const res = await get();
    assert.equal(res.status, 202);
    assert.equal(res.headers['x-first'], undefined);
    assert.equal(res.headers['x-second'], '2');
    assert.equal(res.body, 'second');
  });

  test('before output with excInfo replaces the response (error page pattern)', async () => {
    app = function* (_env, sr) {
      sr('200 OK', [['Content-Type', 'text/plain']]);
      try {
        throw new Error('boom');
      } catch (err) {
        sr('503 Unavailable', [['Content-Type', 'text/plain']], err as Error);
        yield 'sorry';
      }
    } as Application;
    const res = await get();
    assert.equal(res.status, 503);
    assert.equal(res.body, 'sorry');
  });

  test('after output without excInfo throws the rule; uncaught, it aborts the connection', async () => {
    let thrown: unknown;
    app = function* (_env, sr) {
      sr('200 OK', []);
      yield 'partial';
      try {
        sr('500 Error', []);
      } catch (err) {
        thrown = err;
      }
      yield ' rest';
    } as Application;
    const res = await get();
    assert.equal(res.body, 'partial rest', 'an app that catches the rule goes on');
    assert.match(String(thrown), /startResponse\(\) called again after output started without excInfo/);

    const before = h.log.errors().length;
    app = function* (_env, sr) {
      sr('200 OK', []);
      yield 'partial';
      sr('500 Error', []);
      yield ' never sent';
    } as Application;
    await assert.rejects(get(), 'the chunked body must not end normally');
    await until(() => /called again after output started without excInfo/.test(h.log.errors().slice(before).join('\n')));
  });

  test('after output with excInfo rethrows excInfo; the connection is aborted and logged', async () => {
    const before = h.log.errors().length;
    const original = new Error('original failure');
    let rethrown: unknown;
    app = function* (_env, sr) {
      sr('200 OK', []);
      yield 'partial';
      try {
        sr('500 Error', [], original);
      } catch (err) {
        rethrown = err;
        throw err;
      }
    } as Application;
    await assert.rejects(get());
    assert.equal(rethrown, original);
    await until(() => h.log.errors().length > before);
    assert.match(h.log.errors().slice(before).join('\n'), /original failure/);
  });
});

describe('when startResponse() must be called', () => {
  test('inside a generator before the first yield is fine', async () => {
    app = function* (_env, sr) {
      sr('200 OK', [['X-Gen', 'yes']]);
      yield 'from generator';
    } as Application;
    const res = await get();
    assert.equal(res.headers['x-gen'], 'yes');
    assert.equal(res.body, 'from generator');
  });

  test('never called -> 500 naming the rule', async () => {
    const before = h.log.errors().length;
    app = () => ['no start'];
    const res = await get();
    assert.equal(res.status, 500);
    await until(() => h.log.errors().length > before);
    assert.match(h.log.errors().at(-1)!, /startResponse\(\) must be called before the first body chunk/);
  });

  test('write() output precedes the returned body', async () => {
    app = (_env, sr) => {
      const write = sr('200 OK', [['Content-Type', 'text/plain']]);
      write('one ');
      write(new TextEncoder().encode('two '));
      return ['three'];
    };
    const res = await get();
    assert.equal(res.body, 'one two three');
  });

  test('write() with a non-chunk throws inside the app -> 500', async () => {
    app = (_env, sr) => {
      const write = sr('200 OK', []);
      (write as (c: unknown) => void)(42);
      return [];
    };
    const res = await get();
    assert.equal(res.status, 500);
    assert.match(h.log.errors().at(-1)!, /write\(\) takes a string or Uint8Array, got number/);
  });

  test('headers validated even when unused: tokens table rejects DEL', () => {
    const headers: Header[] = [['X\u007f', 'v']];
    assert.throws(() => parseStart('200 OK', headers), /HTTP token/);
  });
});
