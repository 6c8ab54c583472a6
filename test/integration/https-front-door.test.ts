/**
 * Issue 20's front door on the HTTPS listener, through the real CLI: host names
 * (403 for a host not served, the www. parent domain's 301 to https, case and
 * port ignored, --allow-localhost), --https-only's 302 for the name and its
 * parent domain (§2.13), the request limits and slow-client timeouts on the TLS
 * listener (and --limit-request-body over HTTP/2), and trusted proxy headers on
 * a TLS connection (a trusted X-Forwarded-Proto wins over the real TLS state,
 * §2.9 step 5; an untrusted peer's forwarded headers are removed).
 * Clients: curl (from 127.0.0.1, and from 127.0.0.2, which is not trusted),
 * node:tls sockets for exact bytes and trickled heads, node:http2.
 */
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { curl } from '../helpers/clients.js';
import { h2connect, h2request } from '../helpers/h2.js';
import { parseResponse, type RawResponse } from '../helpers/proxy-client.js';
import { fixture, killAll, startServer, type RunningServer } from '../helpers/server.js';
import { ca, certArgs, pki, useTestPki } from '../helpers/tls.js';

useTestPki();
after(() => killAll());


/** curl over HTTPS to the server's HTTPS port (SNI localhost, the Host header as given): status line, headers and body. */
async function httpsGet(server: RunningServer, path: string, ...args: string[]): Promise<RawResponse> {
  const r = await curl(['-i', '--cacert', pki.caCert, ...args, `https://localhost:${server.httpsPort}${path}`]);
  assert.equal(r.code, 0, r.stderr);
  return parseResponse(r.stdout);
}

const host = (name: string) => ['-H', `Host: ${name}`];

/** A TLS connection to the HTTPS port: what it received, whether the server closed it. */
class TlsConnection {
  received = '';
  readonly closed: Promise<void>;
  private constructor(private readonly socket: tls.TLSSocket) {
    socket.on('data', (d: Buffer) => (this.received += d.toString('latin1')));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async open(port: number): Promise<TlsConnection> {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    const c = new TlsConnection(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    return c;
  }

  write(text: string): void {
    this.socket.write(Buffer.from(text, 'latin1'));
  }

  get isClosed(): boolean {
    return this.socket.destroyed;
  }

  async closedWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      this.closed.then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
    clearTimeout(timer);
    if (!result) this.socket.destroy();
    return result;
  }
}

/** Sends `text` over a new TLS connection; the response once the server closes it. */
async function tlsExchange(port: number, text: string, ms = 10_000): Promise<RawResponse> {
  const c = await TlsConnection.open(port);
  c.write(text);
  assert.ok(await c.closedWithin(ms), `the server did not close the connection; received: ${c.received}`);
  return parseResponse(c.received);
}

describe('host names on the HTTPS port', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([fixture('proxy-echo.ts'), ...certArgs(), '--server-name', 'www.Example.test', '--server-alias', '*.alias.test']);
  });

  it('serves the name and its aliases, case and port ignored; SERVER_NAME is the name, the scheme https', async () => {
    for (const name of ['www.example.test', `WWW.EXAMPLE.TEST:${server.httpsPort}`, 'a.alias.test']) {
      const res = await httpsGet(server, '/get?key=SERVER_NAME', ...host(name));
      assert.equal(res.status, 200, name);
      assert.equal(res.body, 'value=www.Example.test;end', name);
    }
    assert.equal((await httpsGet(server, '/get?key=HTTPS', ...host('www.example.test'))).body, 'value=on;end');
  });

  it('answers a host it does not serve with 403 over HTTPS too, logged with the client address', async () => {
    for (const name of ['evil.test', 'localhost', '127.0.0.1']) {
      const from = server.output().length;
      const res = await httpsGet(server, '/get?key=SERVER_NAME', ...host(name));
      assert.equal(res.status, 403, name);
      assert.doesNotMatch(res.body, /value=/);
      await server.waitFor(new RegExp(`tsgi:info.*403 for 127\\.0\\.0\\.1: the host "${name.replace(/\./g, '\\.')}"`), 5_000, from);
    }
  });

  it('redirects the parent domain with 301 to the www. name on https, the HTTPS port, path and query kept', async () => {
    const res = await httpsGet(server, '/a/b?c=1', ...host('example.test'));
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, `https://www.Example.test:${server.httpsPort}/a/b?c=1`);
  });
});

describe('--allow-localhost on the HTTPS port', { timeout: 60_000 }, () => {
  it('lets a loopback client in over HTTPS whatever Host it sends', async () => {
    const server = await startServer([fixture('proxy-echo.ts'), ...certArgs(), '--server-name', 'app.example.test', '--allow-localhost']);
    const res = await httpsGet(server, '/get?key=HTTP_HOST', ...host('anything.example'));
    assert.equal(res.status, 200);
    assert.equal(res.body, 'value=anything.example;end');
  });
});

describe('--https-only with a www. server name (§2.13)', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([fixture('proxy-echo.ts'), ...certArgs(), '--https-only', '--server-name', 'www.example.test']);
  });

  it('on the plain port, the name and its parent domain both get a 302 to the name on the HTTPS port', async () => {
    for (const name of ['www.example.test', 'example.test']) {
      const r = await curl(['-i', '-H', `Host: ${name}`, `http://127.0.0.1:${server.port}/a/b?c=1`]);
      const res = parseResponse(r.stdout);
      assert.equal(res.status, 302, name);
      assert.equal(res.headers.location, `https://www.example.test:${server.httpsPort}/a/b?c=1`, name);
    }
  });

  it('on the HTTPS port, the name is served and the parent domain is redirected (301) to it', async () => {
    assert.equal((await httpsGet(server, '/get?key=tsgi.url_scheme', ...host('www.example.test'))).body, 'value=https;end');
    const parent = await httpsGet(server, '/x', ...host('example.test'));
    assert.equal(parent.status, 301);
    assert.equal(parent.headers.location, `https://www.example.test:${server.httpsPort}/x`);
  });
});

describe('request limits and slow clients on the TLS listener', { timeout: 90_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([
      fixture('body/tsgi.ts'), ...certArgs(), '--http2', '--limit-request-body', '1000', '--limit-request-line', '200',
      '--limit-request-fields', '10', '--limit-request-field-size', '300', '--header-timeout', '1', '--header-max-timeout', '2',
      '--body-timeout', '1',
    ]);
  });
  const port = () => server.httpsPort!;

  it('--limit-request-body: 413 over HTTPS (HTTP/1.1 and HTTP/2), within it served', async () => {
    const big = await tlsExchange(port(), `POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n`);
    assert.equal(big.status, 413);
    const chunked = await tlsExchange(port(), `POST /read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n${'a'.repeat(0x800)}\r\n0\r\n\r\n`);
    assert.equal(chunked.status, 413);
    const session = await h2connect(`https://localhost:${port()}`, ca);
    try {
      const h2 = await h2request(session, { ':method': 'POST', ':path': '/read', 'content-length': '5000' }, Buffer.alloc(5000, 97));
      assert.equal(h2.status, 413);
      const ok = await h2request(session, { ':method': 'POST', ':path': '/read' }, Buffer.alloc(900, 97));
      assert.equal(ok.body, 'read 900 bytes');
    } finally {
      session.close();
    }
    const ok = await curl(['--cacert', pki.caCert, '--http1.1', '--data-binary', 'x'.repeat(900), `https://localhost:${port()}/read`]);
    assert.equal(ok.stdout, 'read 900 bytes');
  });

  it('--limit-request-line 414, --limit-request-fields and --limit-request-field-size 431', async () => {
    assert.equal((await tlsExchange(port(), `GET /${'a'.repeat(250)} HTTP/1.1\r\nHost: x\r\n\r\n`)).status, 414);
    const fields = Array.from({ length: 11 }, (_, i) => `X-F${i}: v\r\n`).join('');
    assert.equal((await tlsExchange(port(), `GET / HTTP/1.1\r\nHost: x\r\n${fields}\r\n`)).status, 431);
    assert.equal((await tlsExchange(port(), `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(400)}\r\n\r\n`)).status, 431);
  });

  it('the strict parser: 400 and close for what it refuses, 501 for a coding other than chunked', async () => {
    for (const head of [
      'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n',
      'GET / HTTP/1.1\nHost: x\n\n',
      'GET / HTTP/1.1\r\nHost : x\r\n\r\n',
    ]) {
      assert.equal((await tlsExchange(port(), head)).status, 400, JSON.stringify(head));
    }
    const gzip = await tlsExchange(port(), 'POST /read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n');
    assert.equal(gzip.status, 501);
  });

  it('--header-timeout: a head trickled over TLS gets 408 when its time is up', async () => {
    const c = await TlsConnection.open(port());
    const t0 = performance.now();
    c.write('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    for (let i = 0; i < 60 && !c.isClosed; i++) {
      c.write('a');
      await sleep(100);
    }
    assert.ok(await c.closedWithin(5000), c.received);
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(parseResponse(c.received).status, 408, c.received);
    assert.ok(seconds >= 0.9 && seconds < 3.5, `closed after ${seconds} s`);
  });

  it('--body-timeout: a body that stalls over TLS gets 408, the app\'s read fails', async () => {
    const from = server.output().length;
    const c = await TlsConnection.open(port());
    c.write('POST /read?tag=tls-stall HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789');
    assert.ok(await c.closedWithin(6000), c.received);
    assert.equal(parseResponse(c.received).status, 408, c.received);
    await server.waitFor(/tsgi read failed tls-stall: RequestBodyError TSGI_BODY_TIMEOUT 408/, 5000, from);
  });

  it('keeps serving over HTTPS after all of them', async () => {
    const r = await curl(['--cacert', pki.caCert, `https://localhost:${port()}/`]);
    assert.equal(r.stdout, 'ok');
  });
});

describe('trusted proxy headers on a TLS connection', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([
      fixture('proxy-echo.ts'), ...certArgs(), '--trust-proxy', '127.0.0.1',
      '--trust-proxy-header', 'X-Forwarded-For', '--trust-proxy-header', 'X-Forwarded-Proto', '--trust-proxy-header', 'X-Forwarded-Host',
    ]);
  });
  const ask = async (from: string, key: string, headers: string[]) =>
    (await httpsGet(server, `/${key.startsWith('has:') ? `has?key=${key.slice(4)}` : `get?key=${key}`}`, '--interface', from, ...headers.flatMap((h) => ['-H', h]))).body;

  it('a trusted proxy over HTTPS: the client and host it names; its X-Forwarded-Proto wins over the TLS state', async () => {
    const xff = ['X-Forwarded-For: 198.51.100.7, 203.0.113.5'];
    assert.equal(await ask('127.0.0.1', 'REMOTE_ADDR', xff), 'value=203.0.113.5;end');
    assert.equal(await ask('127.0.0.1', 'HTTP_HOST', ['X-Forwarded-Host: shop.example.test']), 'value=shop.example.test;end');
    // Without a scheme header the connection decides: https, HTTPS=on.
    assert.equal(await ask('127.0.0.1', 'tsgi.url_scheme', xff), 'value=https;end');
    assert.equal(await ask('127.0.0.1', 'HTTPS', xff), 'value=on;end');
    // §2.9 step 5: the proxy says its client used http: http, and no HTTPS.
    assert.equal(await ask('127.0.0.1', 'tsgi.url_scheme', ['X-Forwarded-Proto: http']), 'value=http;end');
    assert.equal(await ask('127.0.0.1', 'has:HTTPS', ['X-Forwarded-Proto: http']), 'present=NO;end');
  });

  it('a peer that is not trusted, over HTTPS: nothing it forwards is believed, and the headers are removed', async () => {
    const headers = ['X-Forwarded-For: 203.0.113.5', 'X-Forwarded-Proto: http', 'X-Forwarded-Host: evil.test'];
    assert.equal(await ask('127.0.0.2', 'REMOTE_ADDR', headers), 'value=127.0.0.2;end');
    assert.equal(await ask('127.0.0.2', 'tsgi.url_scheme', headers), 'value=https;end');
    assert.equal(await ask('127.0.0.2', 'HTTPS', headers), 'value=on;end');
    assert.equal(await ask('127.0.0.2', 'HTTP_HOST', headers), `value=localhost:${server.httpsPort};end`);
    for (const key of ['HTTP_X_FORWARDED_FOR', 'HTTP_X_FORWARDED_PROTO', 'HTTP_X_FORWARDED_HOST']) {
      assert.equal(await ask('127.0.0.2', `has:${key}`, headers), 'present=NO;end', key);
    }
  });
});
