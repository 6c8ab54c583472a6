/**
 * The pipeline stages on the HTTPS listener (issue 17: "every pipeline stage
 * works on every listener"), each through HTTP/1.1 (undici, ALPN http/1.1)
 * and HTTP/2 (node:http2, ALPN h2): authentication (--auth-user-script: 401
 * with its challenge, then 200 with credentials), static files
 * (--document-root), and the request limits (413 past --limit-request-body,
 * with and without a Content-Length; 414 past --limit-request-line; 431 past
 * --limit-request-field-size and --limit-request-fields, which HTTP/2 carries
 * as HPACK fields). One table, both protocols; curl --http2 for one more client.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { curl } from '../helpers/clients.js';
import { h2connect } from '../helpers/h2.js';
import { fixture, killAll, startServer, type RunningServer } from '../helpers/server.js';
import { ca, pki, tlsArgs, useTestPki } from '../helpers/tls.js';

useTestPki();
let root: string;
before(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'tsgi-tls-root-'));
  writeFileSync(path.join(root, 'hello.txt'), 'a static file\n');
});
after(() => {
  killAll();
  rmSync(root, { recursive: true, force: true });
});

const CREDENTIALS = 'Basic ' + Buffer.from('yes:pw').toString('base64');

interface Exchange {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer;
  /** Send the body without a Content-Length (chunked on HTTP/1.1, plain DATA frames on HTTP/2). */
  readonly streamed?: boolean;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One exchange over HTTP/1.1 on TLS (a fresh connection: an answer that closes it leaves the next alone). */
async function overHttp1(agent: Agent, base: string, x: Exchange): Promise<Answer> {
  const body = x.body && x.streamed ? Readable.from([x.body]) : x.body;
  const res = await request(base + x.path, { dispatcher: agent, method: x.method ?? 'GET', headers: x.headers, body, reset: true });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** One exchange as a stream of the shared HTTP/2 session. */
async function overHttp2(session: ClientHttp2Session, x: Exchange): Promise<Answer> {
  const headers = { ':method': x.method ?? 'GET', ':path': x.path, ...x.headers, ...(x.body && !x.streamed ? { 'content-length': String(x.body.length) } : {}) };
  const stream = session.request(headers, { endStream: x.body === undefined });
  stream.on('error', () => {});
  if (x.body) stream.end(x.body);
  const [head] = (await new Promise((resolve, reject) => {
    stream.once('response', (h) => resolve([h]));
    stream.once('close', () => reject(new Error(`stream closed without a response (code ${stream.rstCode})`)));
  })) as [Record<string, string | string[] | undefined>];
  let body = '';
  for await (const chunk of stream) body += chunk;
  return { status: Number(head[':status']), headers: head, body };
}

const big = Buffer.alloc(2000, 97);
const CASES: { name: string; x: Exchange; status: number; check?: (a: Answer) => void }[] = [
  {
    name: 'auth: no credentials, 401 with the challenge',
    x: { path: '/anything' },
    status: 401,
    check: (a) => assert.match(String(a.headers['www-authenticate']), /^Basic realm="/),
  },
  { name: 'auth: wrong credentials, 401', x: { path: '/anything', headers: { authorization: 'Basic ' + Buffer.from('yes:no').toString('base64') } }, status: 401 },
  { name: 'auth: credentials, 200 from the app', x: { path: '/anything', headers: { authorization: CREDENTIALS } }, status: 200, check: (a) => assert.equal(a.body, 'ok') },
  {
    name: 'static: a file under --document-root',
    x: { path: '/hello.txt', headers: { authorization: CREDENTIALS } },
    status: 200,
    check: (a) => {
      assert.equal(a.body, 'a static file\n');
      assert.match(String(a.headers['content-type']), /^text\/plain/);
    },
  },
  { name: 'static: no credentials, 401 for a file too', x: { path: '/hello.txt' }, status: 401, check: (a) => assert.doesNotMatch(a.body, /a static file/) },
  {
    name: 'limits: a body above --limit-request-body (Content-Length), 413',
    x: { method: 'POST', path: '/read', headers: { authorization: CREDENTIALS }, body: big },
    status: 413,
  },
  {
    name: 'limits: a body above --limit-request-body (no Content-Length), 413',
    x: { method: 'POST', path: '/read', headers: { authorization: CREDENTIALS }, body: big, streamed: true },
    status: 413,
  },
  {
    name: 'limits: a body within the limit reaches the app',
    x: { method: 'POST', path: '/read', headers: { authorization: CREDENTIALS }, body: Buffer.alloc(900, 98) },
    status: 200,
    check: (a) => assert.equal(a.body, 'read 900 bytes'),
  },
  { name: 'limits: a target above --limit-request-line, 414', x: { path: '/' + 'x'.repeat(600), headers: { authorization: CREDENTIALS } }, status: 414 },
  {
    name: 'limits: a header above --limit-request-field-size, 431',
    x: { path: '/', headers: { authorization: CREDENTIALS, 'x-big': 'y'.repeat(400) } },
    status: 431,
  },
  {
    name: 'limits: more fields than --limit-request-fields, 431',
    x: { path: '/', headers: { authorization: CREDENTIALS, ...Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`x-field-${i}`, 'v'])) } },
    status: 431,
  },
];

describe('pipeline stages on the HTTPS listener, HTTP/1.1 and HTTP/2', { timeout: 120_000 }, () => {
  let server: RunningServer;
  let agent: Agent;
  let session: ClientHttp2Session;
  before(async () => {
    server = await startServer([
      fixture('body/tsgi.ts'), ...tlsArgs(),
      '--auth-user-script', fixture('auth/users.ts'), '--document-root', root,
      '--limit-request-body', '1000', '--limit-request-line', '500', '--limit-request-field-size', '300', '--limit-request-fields', '20',
    ]);
    agent = new Agent({ connect: { ca, servername: 'localhost' } });
    session = await h2connect(server.httpsUrl!, ca);
  });
  after(async () => {
    session?.close();
    await agent?.close();
  });

  for (const c of CASES) {
    it(`HTTP/1.1 over TLS: ${c.name}`, async () => {
      const a = await overHttp1(agent, server.httpsUrl!.replace(/\/$/, ''), c.x);
      assert.equal(a.status, c.status, a.body.slice(0, 300));
      c.check?.(a);
    });
    it(`HTTP/2: ${c.name}`, async () => {
      const a = await overHttp2(session, c.x);
      assert.equal(a.status, c.status, a.body.slice(0, 300));
      c.check?.(a);
      assert.equal(session.closed || session.destroyed, false, 'the session serves on');
    });
  }

  it('the HTTP/2 session served every case on one connection, and curl --http2 sees the same', async () => {
    const base = `https://localhost:${server.httpsPort}`;
    const anonymous = await curl(['--http2', '--cacert', pki.caCert, '-s', '-o', '/dev/null', '-w', '%{http_version} %{http_code}', `${base}/hello.txt`]);
    assert.equal(anonymous.stdout, '2 401', anonymous.stderr);
    const file = await curl(['--http2', '--cacert', pki.caCert, '-s', '-u', 'yes:pw', `${base}/hello.txt`]);
    assert.equal(file.stdout, 'a static file\n', file.stderr);
    const tooBig = await curl(['--http2', '--cacert', pki.caCert, '-s', '-u', 'yes:pw', '-o', '/dev/null', '-w', '%{http_code}', '--data-binary', 'z'.repeat(2000), `${base}/read`]);
    assert.equal(tooBig.stdout, '413', tooBig.stderr);
  });
});
