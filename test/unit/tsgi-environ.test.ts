/**
 * The environ as an application sees it through a real socket, and tsgi.errors
 * records tagged with the request id.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, request } from 'undici';
import type { Application, Environ } from '../../src/index.js';
import { createErrorStream } from '../../src/tsgi/errors-stream.js';
import { fakeLog, startTsgi, until, type Harness } from '../helpers/tsgi-harness.js';

let app: Application = () => [];
let h: Harness;
before(async () => {
  h = await startTsgi((environ, sr) => app(environ, sr));
});
after(() => h.close());

test('environ keys', async () => {
  let env!: Environ;
  app = (e, sr) => {
    env = e;
    sr('200 OK', []);
    return [];
  };
  const res = await request(`${h.url}/a%2Fb/c?x=1&y=%20`, {
    method: 'POST',
    body: 'abc',
    headers: { 'content-type': 'text/plain', 'x-rep': ['1', '2'], cookie: ['a=1', 'b=2'] },
  });
  await res.body.text();
  assert.equal(env.REQUEST_METHOD, 'POST');
  assert.equal(env.SCRIPT_NAME, '');
  assert.equal(env.PATH_INFO, '/a/b/c');
  assert.equal(env.QUERY_STRING, 'x=1&y=%20');
  assert.equal(env.REQUEST_URI, '/a%2Fb/c?x=1&y=%20');
  assert.equal(env.CONTENT_TYPE, 'text/plain');
  assert.equal(env.CONTENT_LENGTH, '3');
  assert.equal(env.SERVER_NAME, '127.0.0.1');
  assert.equal(env.SERVER_PROTOCOL, 'HTTP/1.1');
  assert.equal(env.REMOTE_ADDR, '127.0.0.1');
  assert.equal(env.HTTP_X_REP, '1, 2');
  assert.equal(env.HTTP_COOKIE, 'a=1; b=2');
  assert.deepEqual(env['tsgi.version'], [1, 0]);
  assert.equal(env['tsgi.url_scheme'], 'http');
  assert.equal(env['tsgi.run_once'], false);
  assert.equal(env['tsgi.input_terminated'], true);
  assert.equal(env['tsgi_express.request_id'], h.ids.at(-1));
  assert.equal(env['tsgi_express.process_id'], process.pid);
  assert.equal(typeof env['tsgi.file_wrapper'], 'function');
});

test('an absolute-form target names the host, not the Host header (RFC 9112 3.2.2, as Apache)', async () => {
  let env!: Environ;
  app = (e, sr) => {
    env = e;
    sr('200 OK', []);
    return [];
  };
  const client = new Client(h.url);
  try {
    const res = await client.request({ method: 'GET', path: 'http://Example.test:8080/abs?q=1', headers: { host: 'other.test' } });
    await res.body.dump();
  } finally {
    await client.close();
  }
  assert.equal(env.HTTP_HOST, 'Example.test:8080');
  assert.equal(env.SERVER_NAME, 'Example.test');
  assert.equal(env.REQUEST_URI, 'http://Example.test:8080/abs?q=1');
});

test('tsgi.errors: lines tagged with the request id; a partial line is flushed at request end', async () => {
  app = (env, sr) => {
    const errors = env['tsgi.errors'];
    errors.write('first line\nsecond ');
    errors.write('line\r\nthird, no newline');
    sr('200 OK', []);
    return ['ok'];
  };
  const n = h.log.records.length;
  const res = await request(h.url);
  await res.body.text();
  const rid = h.ids.at(-1);
  await until(() => h.log.records.length >= n + 3);
  assert.deepEqual(
    h.log.records.slice(n).map((r) => [r.level, r.message, r.rid]),
    [
      ['error', 'first line', rid],
      ['error', 'second line', rid],
      ['error', 'third, no newline', rid],
    ],
  );
});

test('tsgi.errors flush() and nothing logged for empty flushes', () => {
  const log = fakeLog();
  const stream = createErrorStream(log, 'r9');
  stream.flush();
  stream.write('partial');
  assert.equal(log.records.length, 0);
  stream.flush();
  stream.flush();
  assert.deepEqual(log.records, [{ level: 'error', message: 'partial', rid: 'r9' }]);
});
