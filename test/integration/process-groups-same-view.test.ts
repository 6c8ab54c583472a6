// Process groups: an app behind the hop sees the request exactly as the same app served
// directly does (docs/architecture.md, Process groups, lists the differences). Each of a
// TSGI, a fetch and a node (req, res) app is mounted twice, once in the front's own group
// and once in a group of its own, and asked the same thing on the same client connection:
// over HTTP, over HTTPS with a client certificate (--ssl-environment), and as HTTP/1.0
// without a Host header.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'undici';
import { fixture, killAll, startServer, type RunningServer } from '../helpers/server.js';
import { ca, certArgs, pki, useTestPki } from '../helpers/tls.js';

type Seen = Record<string, unknown>;

/** Each app: its mount in the front's group, and its mount in a group of its own. */
const APPS = [
  { name: 'tsgi', direct: '/d', hop: '/h' },
  { name: 'fetch', direct: '/df', hop: '/hf' },
  { name: 'node', direct: '/dn', hop: '/hn' },
] as const;

/**
 * What may differ between the two: the process that ran the app, what differs between
 * any two requests (their ids), and the mount the test gave each copy (the hop copy's
 * mount is written as the direct one's before comparing).
 */
function comparable(seen: Seen, hopMount: string, directMount: string): Seen {
  const text = JSON.stringify(seen).replace(new RegExp(`${hopMount}(?=[/?"])`, 'g'), directMount);
  const copy = JSON.parse(text) as Seen;
  const environ = copy.environ as Seen | null;
  if (environ) {
    delete environ['tsgi_express.process_id'];
    assert.equal(typeof environ['tsgi_express.request_id'], 'string');
    assert.equal(typeof environ['tsgi_express.request_start'], 'number');
    delete environ['tsgi_express.request_id'];
    delete environ['tsgi_express.request_start'];
  }
  return copy;
}

function assertSame(direct: Seen, hop: Seen, app: (typeof APPS)[number], what: string): void {
  assert.notEqual((direct.environ as Seen | null)?.['tsgi_express.process_id'] ?? 0, (hop.environ as Seen | null)?.['tsgi_express.process_id'] ?? 1, `${app.name}: two processes`);
  assert.deepEqual(comparable(hop, app.hop, app.direct), comparable(direct, app.direct, app.direct), `${app.name} ${what}`);
}

async function ask(client: Client, pathname: string): Promise<Seen> {
  const res = await client.request({ path: pathname, method: 'GET', headers: { 'x-custom': 'one', 'X-Twice': ['a', 'b'], cookie: 'a=1' } });
  const text = await res.body.text();
  assert.equal(res.statusCode, 200, `${pathname}: ${text}`);
  return JSON.parse(text) as Seen;
}

/** An HTTP/1.0 request without Host on a connection of its own; the body and the client's port. */
function askHttp10(port: number, pathname: string): Promise<{ seen: Seen; clientPort: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET ${pathname} HTTP/1.0\r\nX-Custom: one\r\n\r\n`));
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', reject);
    socket.on('end', () => {
      const body = data.slice(data.indexOf('\r\n\r\n') + 4);
      try {
        resolve({ seen: JSON.parse(body) as Seen, clientPort: socket.localPort! });
      } catch {
        reject(new Error(`${pathname}: ${data}`));
      }
    });
    socket.setTimeout(20_000, () => socket.destroy(new Error(`${pathname}: no answer`)));
  });
}

let dir: string;
let server: RunningServer;

useTestPki();
after(() => {
  killAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('an app behind the hop sees what the same app served directly sees', { timeout: 120_000 }, () => {
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'same-view-'));
    const view = (name: string) => fixture(`groups/view-${name}.ts`);
    writeFileSync(path.join(dir, 'site.json'), JSON.stringify({
      script: view('tsgi'),
      'mount-point': '/d',
      processes: 1,
      'startup-timeout': 90,
      apps: [
        { mount: '/h', script: view('tsgi') },
        { mount: '/df', script: view('fetch'), group: 'main' },
        { mount: '/hf', script: view('fetch') },
        { mount: '/dn', script: view('node'), group: 'main' },
        { mount: '/hn', script: view('node') },
      ],
    }));
    server = await startServer(['--config', path.join(dir, 'site.json'), ...certArgs(), '--ssl-environment',
      '--ssl-ca-certificate-file', pki.caCert, '--ssl-verify-client', '/required'], { readyTimeoutMs: 90_000 });
  });

  it('over HTTP: the environ, the Request, req.socket (REMOTE_PORT, ports, addresses) and the client\'s own headers', async () => {
    const client = new Client(`http://127.0.0.1:${server.port}`, { pipelining: 1 });
    try {
      for (const app of APPS) {
        const direct = await ask(client, `${app.direct}/x/caf%C3%A9?q=1`);
        const hop = await ask(client, `${app.hop}/x/caf%C3%A9?q=1`);
        assertSame(direct, hop, app, 'over HTTP');
        const environ = hop.environ as Seen;
        assert.match(String(environ.REMOTE_PORT), /^\d+$/);
        assert.equal(environ.HTTP_CONNECTION, 'keep-alive');
        assert.equal(environ.HTTP_X_TSGI_EXPRESS_HOP, undefined);
      }
    } finally {
      await client.close();
    }
  });

  it('over HTTPS with a client certificate: HTTPS=on, the SSL_* variables, and the TLS socket\'s answers', async () => {
    const client = new Client(`https://localhost:${server.httpsPort}`, {
      pipelining: 1,
      connect: { ca, cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) },
    });
    try {
      for (const app of APPS) {
        const direct = await ask(client, `${app.direct}/tls`);
        const hop = await ask(client, `${app.hop}/tls`);
        assertSame(direct, hop, app, 'over HTTPS');
        const environ = hop.environ as Seen;
        assert.equal(environ.HTTPS, 'on');
        assert.equal(environ.SSL_CLIENT_VERIFY, 'SUCCESS');
        assert.match(String(environ.SSL_CLIENT_S_DN), /CN=alice/);
        assert.match(String(environ.SSL_PROTOCOL), /^TLSv1\.[23]$/);
        if (app.name !== 'tsgi') {
          const socket = hop.socket as Seen;
          assert.equal(socket.encrypted, true);
          assert.equal(socket.authorized, true);
          assert.equal((socket.peer as { subject: { CN: string } }).subject.CN, 'alice');
        }
      }
    } finally {
      await client.close();
    }
  });

  it('HTTP/1.0 without Host: SERVER_PROTOCOL, req.httpVersion and the headers are the client\'s', async () => {
    for (const app of APPS) {
      const direct = await askHttp10(server.port, `${app.direct}/old`);
      const hop = await askHttp10(server.port, `${app.hop}/old`);
      // One connection each: REMOTE_PORT is each one's own port.
      for (const { seen, clientPort } of [direct, hop]) {
        const environ = seen.environ as Seen;
        assert.equal(environ.REMOTE_PORT, String(clientPort));
        assert.equal(environ.SERVER_PROTOCOL, 'HTTP/1.0');
        assert.equal(environ.HTTP_HOST, undefined);
        environ.REMOTE_PORT = '';
        const socket = seen.socket as Seen | undefined;
        if (socket) socket.remotePort = 0;
      }
      assertSame(direct.seen, hop.seen, app, 'as HTTP/1.0');
    }
  });
});
