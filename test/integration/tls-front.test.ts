/**
 * HTTPS with what comes in front of the application and after a handshake,
 * through the real CLI: WebSocket upgrades on every HTTP/1.1 listener (ws:// on
 * the plain port, wss:// on the HTTPS one, with --http2 offering h2 beside it),
 * --https-only and HSTS with --server-name, --allow-localhost and a trusted
 * proxy's X-Forwarded-Proto, and the PROXY protocol on the TLS listener.
 * Clients: ws, curl (from 127.0.0.1 and from 127.0.0.2, which is not trusted),
 * and node:tls over a socket that sends the preamble first.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { curl, output } from '../helpers/clients.js';
import { getRequest, parseResponse, proxyV1, proxyV2, type RawResponse } from '../helpers/proxy-client.js';
import { fixture, killAll, startServer, type RunningServer } from '../helpers/server.js';
import { ca, certArgs, pki, useTestPki } from '../helpers/tls.js';

useTestPki();
after(() => killAll());


/** Opens a WebSocket and resolves with its first message, or with the status of a refused upgrade. */
async function firstMessage(url: string, opts: WebSocket.ClientOptions = {}): Promise<{ message?: string; status?: number; ws: WebSocket }> {
  const ws = new WebSocket(url, { ca, handshakeTimeout: 10_000, ...opts });
  ws.on('error', () => {});
  return new Promise((resolve, reject) => {
    ws.once('message', (data) => resolve({ message: String(data), ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode, ws });
      res.resume();
    });
    ws.once('close', () => reject(new Error(`${url} closed before a message`)));
  });
}

async function echo(ws: WebSocket, text: string): Promise<string> {
  ws.send(text);
  const [data] = await once(ws, 'message');
  return String(data);
}

describe('WebSocket upgrades on every HTTP/1.1 listener', { timeout: 90_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([fixture('tls-ws.mjs'), ...certArgs(), '--http2']);
  });

  it('ws:// on the plain port', async () => {
    const { message, ws } = await firstMessage(`ws://127.0.0.1:${server.port}/chat?x=1`);
    assert.equal(message, 'welcome encrypted=false url=/chat?x=1');
    assert.equal(await echo(ws, 'hi'), 'echo hi');
    ws.close();
  });

  it('wss:// on the HTTPS port: the app sees the TLS socket, and messages go both ways', async () => {
    const { message, ws } = await firstMessage(`wss://localhost:${server.httpsPort}/chat?x=2`);
    assert.equal(message, 'welcome encrypted=true url=/chat?x=2');
    assert.equal(await echo(ws, 'over tls'), 'echo over tls');
    ws.close(1000);
    const [code] = await once(ws, 'close');
    assert.equal(code, 1000);
  });

  it('wss:// refuses a client that does not trust the certificate, and keeps serving', async () => {
    const ws = new WebSocket(`wss://localhost:${server.httpsPort}/chat`, { handshakeTimeout: 10_000 });
    const [err] = await once(ws, 'error');
    assert.match(String((err as Error).message), /self.signed|unable to (get|verify)/i);
    const again = await firstMessage(`wss://localhost:${server.httpsPort}/chat`);
    assert.match(again.message!, /^welcome encrypted=true/);
    again.ws.close();
  });

  it('a fetch app with WebSockets over wss://', async () => {
    const fetchServer = await startServer([fixture('eco/fetch-ws.ts'), ...certArgs()]);
    const { message, ws } = await firstMessage(`wss://localhost:${fetchServer.httpsPort}/ws?user=bob`);
    assert.match(message!, /^hello bob \d+$/);
    assert.equal(await echo(ws, 'x'), 'text x');
    ws.close();
  });
});

describe('--https-only with --server-name: the host names decide first, the redirect names the server', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([fixture('tls-ws.mjs'), ...certArgs(), '--https-only',
      '--server-name', 'example.test', '--server-alias', 'alias.test']);
  });

  it('redirects a request for an alias to --server-name on the HTTPS port', async () => {
    const r = await curl(['-D', '-', '-o', '/dev/null', '-H', 'Host: alias.test', `http://127.0.0.1:${server.port}/a?b=1`]);
    assert.match(r.stdout, /^HTTP\/1\.1 302 /);
    assert.match(r.stdout, new RegExp(`\\r\\nLocation: https://example\\.test:${server.httpsPort}/a\\?b=1\\r\\n`, 'i'));
  });

  it('answers a host it does not serve with 403, not a redirect', async () => {
    const r = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: elsewhere.test', `http://127.0.0.1:${server.port}/`]);
    assert.equal(r.stdout, '403');
  });

  it('refuses a ws:// upgrade with the redirect, and serves wss://', async () => {
    const plain = await firstMessage(`ws://127.0.0.1:${server.port}/chat`, { headers: { Host: 'example.test' } });
    assert.equal(plain.status, 302);
    const secure = await firstMessage(`wss://localhost:${server.httpsPort}/chat`, { headers: { Host: 'example.test' } });
    assert.match(secure.message!, /^welcome encrypted=true/);
    secure.ws.close();
  });
});

describe('--https-only with --allow-localhost', { timeout: 60_000 }, () => {
  it('serves a loopback client over plain HTTP', async () => {
    const server = await startServer([fixture('app.ts'), ...certArgs(), '--https-only', '--server-name', 'example.test', '--allow-localhost']);
    const r = await curl(['-w', ' %{http_code}', `http://127.0.0.1:${server.port}/pid`]);
    assert.match(r.stdout, /^\d+ 200$/);
  });
});

describe('--https-only and --hsts-policy behind a trusted proxy (X-Forwarded-Proto)', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([fixture('proxy-echo.ts'), ...certArgs(), '--https-only', '--hsts-policy', 'max-age=600',
      '--trust-proxy', '127.0.0.1', '--trust-proxy-header', 'X-Forwarded-Proto']);
  });
  const onPlain = (from: string, proto: string) =>
    curl(['-D', '-', '--interface', from, '-H', `X-Forwarded-Proto: ${proto}`, `http://127.0.0.1:${server.port}/get?key=tsgi.url_scheme`]);

  it('serves what the trusted proxy received over HTTPS, as https, without redirecting', async () => {
    const r = await onPlain('127.0.0.1', 'https');
    assert.match(r.stdout, /^HTTP\/1\.1 200 /);
    assert.match(r.stdout, /\r\n\r\nvalue=https;end$/);
    // HSTS is the TLS-terminating proxy's to send: this server only sends it on its own TLS.
    assert.doesNotMatch(r.stdout, /Strict-Transport-Security/i);
  });

  it('redirects what the trusted proxy received over plain HTTP', async () => {
    assert.match((await onPlain('127.0.0.1', 'http')).stdout, /^HTTP\/1\.1 302 /);
  });

  it('does not believe X-Forwarded-Proto from a peer that is not trusted', async () => {
    assert.match((await onPlain('127.0.0.2', 'https')).stdout, /^HTTP\/1\.1 302 /);
  });
});

/**
 * Connects to `port` and speaks TLS, with `preamble` (if any) in the same write
 * as the ClientHello, as a proxy that forwards the client's first bytes with its
 * header sends them; resolves with the response to `request`, or with `refused`
 * when the server closed the connection without an answer.
 */
function tlsAfterPreamble(port: number, preamble: Buffer | undefined, request: string): Promise<RawResponse | 'refused'> {
  return new Promise((resolve, reject) => {
    const raw = net.connect(port, '127.0.0.1');
    let first = preamble;
    const carrier = new Duplex({
      write(chunk: Buffer, _encoding, done) {
        raw.write(first ? Buffer.concat([first, chunk]) : chunk, done);
        first = undefined;
      },
      read() {},
      final(done) {
        raw.end();
        done();
      },
    });
    raw.on('data', (d: Buffer) => carrier.push(d));
    raw.on('end', () => carrier.push(null));
    raw.on('close', () => carrier.destroy());
    raw.on('error', () => {});
    const timer = setTimeout(() => {
      raw.destroy();
      reject(new Error('no answer within 10 s'));
    }, 10_000);
    const secure = tls.connect({ socket: carrier, ca, servername: 'localhost' }, () => secure.write(request));
    let text = '';
    secure.on('data', (d: Buffer) => (text += d.toString('latin1')));
    secure.on('error', () => {});
    secure.once('close', () => {
      clearTimeout(timer);
      resolve(text === '' ? 'refused' : parseResponse(text));
    });
  });
}

describe('--proxy-protocol on the TLS listener', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([fixture('proxy-echo.ts'), ...certArgs(), '--proxy-protocol', '--trust-proxy', '127.0.0.1',
      '--hsts-policy', 'max-age=60', '--access-log', '--access-log-format', '%a|%r|%>s', '--log-level', 'info']);
  });
  const key = (name: string) => getRequest(`/get?key=${name}`);

  it('reads the preamble before the handshake: the client is the one it names, the scheme https', async () => {
    const pre = proxyV1('203.0.113.9', '192.0.2.1', 40001, 443);
    const addr = await tlsAfterPreamble(server.httpsPort!, pre, key('REMOTE_ADDR'));
    assert.notEqual(addr, 'refused');
    assert.equal((addr as RawResponse).body, 'value=203.0.113.9;end');
    assert.equal((addr as RawResponse).headers['strict-transport-security'], 'max-age=60');
    const scheme = await tlsAfterPreamble(server.httpsPort!, proxyV2({ src: '2001:db8::7', dst: '2001:db8::1', sport: 5, dport: 443 }), key('tsgi.url_scheme'));
    assert.equal((scheme as RawResponse).body, 'value=https;end');
    await server.waitFor(/^203\.0\.113\.9\|GET \/get\?key=REMOTE_ADDR HTTP\/1\.1\|200$/m);
  });

  it('closes a TLS connection from the proxy that starts without a preamble, and keeps serving', async () => {
    assert.equal(await tlsAfterPreamble(server.httpsPort!, undefined, key('REMOTE_ADDR')), 'refused');
    await server.waitFor(/closed a connection from trusted proxy 127\.0\.0\.1: it did not start with a valid PROXY protocol header/);
    const again = await tlsAfterPreamble(server.httpsPort!, proxyV1('198.51.100.1', '192.0.2.1', 1, 443), key('REMOTE_ADDR'));
    assert.equal((again as RawResponse).body, 'value=198.51.100.1;end');
  });

  it('sends HSTS on the plain port only when the preamble says the client used TLS', async () => {
    const viaTls = proxyV2({ src: '198.51.100.2', dst: '192.0.2.1', sport: 6, dport: 443, tls: true });
    const plain = proxyV1('198.51.100.3', '192.0.2.1', 7, 80);
    const ask = async (pre: Buffer) => {
      const socket = net.connect(server.port, '127.0.0.1');
      await once(socket, 'connect');
      socket.end(Buffer.concat([pre, Buffer.from(key('tsgi.url_scheme'))]));
      let raw = '';
      for await (const chunk of socket) raw += (chunk as Buffer).toString('latin1');
      return parseResponse(raw);
    };
    const overTls = await ask(viaTls);
    assert.equal(overTls.body, 'value=https;end');
    assert.equal(overTls.headers['strict-transport-security'], 'max-age=60');
    const overPlain = await ask(plain);
    assert.equal(overPlain.body, 'value=http;end');
    assert.equal(overPlain.headers['strict-transport-security'], undefined);
  });
});

describe('the development certificate names the server', { timeout: 60_000 }, () => {
  it('--server-name and a wildcard --server-alias are in its subjectAltName, and a new name makes a new one', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'tsgi-devcert-'));
    try {
      const args = [fixture('app.ts'), '--https-port', '0', '--server-root', root, '--server-name', 'example.test', '--server-alias', '*.alias.test'];
      const first = await startServer(args);
      const certFile = path.join(root, 'development-certificate.crt');
      const sans = await output('openssl', ['x509', '-in', certFile, '-noout', '-ext', 'subjectAltName']);
      for (const name of ['DNS:localhost', 'IP Address:127.0.0.1', 'DNS:example.test', 'DNS:*.alias.test']) assert.ok(sans.includes(name), `${name} in ${sans}`);
      const ok = await curl(['--cacert', certFile, '--resolve', `www.alias.test:${first.httpsPort}:127.0.0.1`, '-o', '/dev/null', '-w', '%{http_code}',
        `https://www.alias.test:${first.httpsPort}/`]);
      assert.equal(ok.stdout, '200', ok.stderr);
      const fingerprint = /^TLS Fingerprint {4}: (.*)$/m.exec(first.output())![1];
      first.signal('SIGTERM');
      await first.exited();
      const renamed = await startServer([...args.slice(0, -2), '--server-alias', 'other.test']);
      assert.notEqual(/^TLS Fingerprint {4}: (.*)$/m.exec(renamed.output())![1], fingerprint);
      assert.match(await output('openssl', ['x509', '-in', certFile, '-noout', '-ext', 'subjectAltName']), /DNS:other\.test/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
