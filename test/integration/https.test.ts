/**
 * HTTPS through the real CLI: the listener beside plain HTTP, certificates
 * (RSA, ECDSA, chains, the generated development certificate), what the
 * request sees, TLS versions and renegotiation, clients that are not TLS, bad
 * options, and zero-drop reload and stop under HTTPS load. Clients: undici,
 * curl, openssl s_client; certificates made in the test with openssl.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { curl, output, sClient } from '../helpers/clients.js';
import { Load } from '../helpers/load.js';
import { fixture, killAll, runCli, sleepInApp, startServer, waitGone, type RunningServer } from '../helpers/server.js';
import { certArgs, pki, useTestPki } from '../helpers/tls.js';

useTestPki();
const dirs: string[] = [];
after(() => {
  killAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-https-'));
  dirs.push(dir);
  return dir;
}

function trusting(ca: string): Agent {
  return new Agent({ connect: { ca: readFileSync(ca) } });
}


async function json(url: string, dispatcher?: Agent): Promise<Record<string, unknown>> {
  const res = await request(url, { dispatcher });
  assert.equal(res.statusCode, 200, url);
  return (await res.body.json()) as Record<string, unknown>;
}

describe('an HTTPS listener beside the HTTP one', { timeout: 120_000 }, () => {
  let server: RunningServer;
  let agent: Agent;
  before(async () => {
    server = await startServer([fixture('app.ts'), ...certArgs(), '--access-log']);
    agent = trusting(pki.caCert);
  });
  after(() => agent.close());

  it('prints both URLs in the banner and the Ready line', () => {
    assert.match(server.output(), new RegExp(`^Server URL {9}: http://127\\.0\\.0\\.1:${server.port}/$`, 'm'));
    assert.match(server.output(), new RegExp(`^Server URL \\(HTTPS\\) : https://127\\.0\\.0\\.1:${server.httpsPort}/$`, 'm'));
    assert.ok(server.httpsPort! > 0 && server.httpsPort !== server.port);
  });

  it('decides the scheme per request: tsgi.url_scheme, SERVER_PORT and HTTPS', async () => {
    const secure = await json(`${server.httpsUrl}environ`, agent);
    assert.equal(secure['tsgi.url_scheme'], 'https');
    assert.equal(secure.SERVER_PORT, String(server.httpsPort));
    assert.equal(secure.HTTPS, 'on');
    assert.equal(secure.SERVER_PROTOCOL, 'HTTP/1.1');
    const plain = await json(`${server.url}environ`);
    assert.equal(plain['tsgi.url_scheme'], 'http');
    assert.equal(plain.SERVER_PORT, String(server.port));
    assert.equal(plain.HTTPS, undefined);
  });

  it('curl verifies the certificate against the CA, and refuses it without', async () => {
    const ok = await curl(['--cacert', pki.caCert, `https://localhost:${server.httpsPort}/`]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^Hello world!/);
    const refused = await curl([`https://localhost:${server.httpsPort}/`]);
    assert.equal(refused.code, 60, refused.stderr); // CURLE_PEER_FAILED_VERIFICATION
  });

  it('logs HTTPS requests in the access log, and the pipeline answers there too', async () => {
    const from = server.output().length;
    const res = await request(`${server.httpsUrl}pid?from=tls`, { dispatcher: agent });
    await res.body.dump();
    await server.waitFor(/"GET \/pid\?from=tls HTTP\/1\.1" 200/, 10_000, from);
    const bad = await request(`${server.httpsUrl}%ff`, { dispatcher: agent }); // not UTF-8: the mount stage's 400
    assert.equal(bad.statusCode, 400);
    await bad.body.dump();
  });

  it('accepts TLS 1.2 and 1.3 and refuses 1.1', async () => {
    for (const version of ['-tls1_2', '-tls1_3']) {
      const r = await sClient(server.httpsPort!, [version, '-CAfile', pki.caCert, '-brief'], 'Q\n');
      assert.match(r.stderr + r.stdout, /Verification: OK/, `${version}: ${r.stderr}`);
    }
    const old = await sClient(server.httpsPort!, ['-tls1_1', '-CAfile', pki.caCert, '-brief'], 'Q\n');
    assert.notEqual(old.code, 0);
    assert.doesNotMatch(old.stderr + old.stdout, /Verification: OK/);
  });

  it('refuses a renegotiation (TLS 1.2) and keeps serving', async () => {
    // A line that is just R makes s_client renegotiate (without -ign_eof, which would send it as data).
    const r = await sClient(server.httpsPort!, ['-tls1_2', '-CAfile', pki.caCert], 'R\n');
    assert.match(r.stdout + r.stderr, /RENEGOTIATING/);
    assert.match(r.stdout + r.stderr, /no renegotiation/);
    assert.equal((await request(`${server.httpsUrl}pid`, { dispatcher: agent })).statusCode, 200);
  });

  it('drops plain HTTP, garbage and a stalled handshake on the HTTPS port, serving others meanwhile', async () => {
    const stalled = net.connect(server.httpsPort!, '127.0.0.1');
    await once(stalled, 'connect');
    const stalledClosed = once(stalled, 'close');
    for (const bytes of ['GET / HTTP/1.1\r\nHost: localhost\r\n\r\n', '\x16\x03\x01\x00\x05garbage-garbage-garbage']) {
      const socket = net.connect(server.httpsPort!, '127.0.0.1');
      socket.write(bytes);
      let received = '';
      socket.on('data', (d) => (received += d.toString('latin1')));
      socket.on('error', () => {});
      await once(socket, 'close');
      assert.doesNotMatch(received, /HTTP\/1\.1 200/);
    }
    const res = await request(`${server.httpsUrl}pid`, { dispatcher: agent });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    // The stalled one is dropped when the handshake timeout (15 s) runs out.
    const started = performance.now();
    await stalledClosed;
    assert.ok(performance.now() - started < 20_000);
  });

  it('node apps see the TLS socket', async () => {
    const node = await startServer([fixture('tls-node.ts'), ...certArgs()]);
    const seen = await json(`${node.httpsUrl}x`, agent);
    assert.equal(seen.encrypted, true);
    assert.match(String(seen.tlsProtocol), /^TLSv1\.[23]$/);
    assert.equal((await json(`${node.url}x`)).encrypted, false);
  });
});

describe('certificates', { timeout: 120_000 }, () => {
  it('--ssl-certificate PREFIX takes PREFIX.crt and PREFIX.key (ECDSA here)', async () => {
    const prefix = path.join(tempDir(), 'site');
    copyFileSync(pki.ecCert, `${prefix}.crt`);
    copyFileSync(pki.ecKey, `${prefix}.key`);
    const server = await startServer([fixture('app.ts'), '--ssl-port', '0', '--ssl-certificate', prefix]);
    const r = await sClient(server.httpsPort!, ['-CAfile', pki.caCert, '-brief'], 'Q\n');
    assert.match(r.stderr + r.stdout, /Verification: OK/);
    assert.match(r.stderr + r.stdout, /Peer signature type: ECDSA|ecdsa/i);
  });

  it('sends the chain given with --ssl-certificate-chain-file', async () => {
    const server = await startServer([fixture('app.ts'), '--https-port', '0',
      '--ssl-certificate-file', pki.leafCert, '--ssl-certificate-key-file', pki.leafKey, '--ssl-certificate-chain-file', pki.chain]);
    const r = await sClient(server.httpsPort!, ['-CAfile', pki.caCert, '-showcerts'], 'Q\n');
    assert.equal((r.stdout.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length, 2, r.stdout);
    assert.match(r.stdout, /Verify return code: 0 \(ok\)/);
    const ok = await curl(['--cacert', pki.caCert, `https://localhost:${server.httpsPort}/`]);
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('generates a development certificate, says how to trust it, and reuses it on the next start', async () => {
    const root = tempDir();
    const args = [fixture('app.ts'), '--https-port', '0', '--server-root', root];
    const first = await startServer(args);
    const certFile = path.join(root, 'development-certificate.crt');
    const keyFile = path.join(root, 'development-certificate.key');
    const out = first.output();
    assert.match(out, new RegExp(`^TLS Certificate {4}: ${certFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(development certificate`, 'm'));
    assert.match(out, /for localhost 127\.0\.0\.1 ::1 /);
    assert.match(out, new RegExp(`^Trust It With {6}: curl --cacert ${certFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'));
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const fingerprint = (await output('openssl', ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'])).trim().split('=')[1]!;
    assert.match(out, new RegExp(`^TLS Fingerprint {4}: SHA-256 ${fingerprint}$`, 'm'));
    for (const host of ['localhost', '127.0.0.1']) {
      const ok = await curl(['--cacert', certFile, `https://${host}:${first.httpsPort}/`]);
      assert.equal(ok.code, 0, `${host}: ${ok.stderr}`);
    }
    first.signal('SIGTERM');
    await first.exited();
    const second = await startServer(args);
    assert.match(second.output(), new RegExp(`SHA-256 ${fingerprint}$`, 'm'));
  });

  it('serves an expired certificate with a warning', async () => {
    const server = await startServer([fixture('app.ts'), '--https-port', '0',
      '--ssl-certificate-file', pki.expiredCert, '--ssl-certificate-key-file', pki.expiredKey]);
    assert.match(server.output(), /warning: --ssl-certificate-file .*expired\.crt: the certificate expired on .*; clients will refuse it/);
    const r = await curl(['--cacert', pki.expiredCert, `https://localhost:${server.httpsPort}/`]);
    assert.equal(r.code, 60); // expired: curl refuses it
  });
});

describe('bad HTTPS options stop the server before it starts, naming the flag', { timeout: 120_000 }, () => {
  const start = (args: string[]) => runCli(['start-server', fixture('app.ts'), '--host', '127.0.0.1', '--port', '0', ...args]);
  const cases: [string, () => string[], RegExp][] = [
    ['a missing certificate', () => ['--https-port', '0', '--ssl-certificate-file', '/no/such.crt', '--ssl-certificate-key-file', pki.serverKey],
      /--ssl-certificate-file \/no\/such\.crt: cannot be read \(no such file\)/],
    ['a key of another certificate', () => ['--https-port', '0', '--ssl-certificate-file', pki.serverCert, '--ssl-certificate-key-file', pki.ecKey],
      /--ssl-certificate-key-file .*ec\.key: is not the private key of the certificate in .*server\.crt/],
    ['a key file that holds no key', () => ['--https-port', '0', '--ssl-certificate-file', pki.serverCert, '--ssl-certificate-key-file', pki.notPem],
      /--ssl-certificate-key-file .*not-pem\.txt: holds no usable PEM private key/],
    ['a certificate file that is not PEM', () => ['--https-port', '0', '--ssl-certificate-file', pki.notPem, '--ssl-certificate-key-file', pki.serverKey],
      /--ssl-certificate-file .*not-pem\.txt: holds no PEM certificate/],
    ['a chain that is not PEM', () => ['--https-port', '0', ...certArgs().slice(2), '--ssl-certificate-chain-file', pki.notPem],
      /--ssl-certificate-chain-file .*not-pem\.txt: holds no PEM certificate/],
    ['a certificate without its key', () => ['--https-port', '0', '--ssl-certificate-file', pki.serverCert],
      /--ssl-certificate-file needs --ssl-certificate-key-file/],
    ['a certificate without --https-port', () => ['--ssl-certificate-file', pki.serverCert, '--ssl-certificate-key-file', pki.serverKey],
      /--ssl-certificate-file needs --https-port/],
    ['--https-port equal to --port', () => ['--https-port', '8000', '--port', '8000'], /--https-port must differ from --port \(both are 8000\)/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const { code, output: out } = await start(args());
      assert.equal(code, 2, out);
      assert.match(out, message);
      assert.doesNotMatch(out, /Ready:/);
    });
  }

  it('an HTTPS port in use: exit 4 naming --https-port', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      for (const processes of ['1', '2']) {
        const { code, output: out } = await start([...certArgs().slice(0, 0), '--https-port', String(port),
          '--ssl-certificate-file', pki.serverCert, '--ssl-certificate-key-file', pki.serverKey, '--processes', processes]);
        assert.equal(code, 4, out);
        assert.match(out, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(--https-port\\)`));
      }
    } finally {
      blocker.close();
    }
  });
});

describe('reload and stop under HTTPS', { timeout: 120_000 }, () => {
  it('SIGHUP under HTTPS keep-alive load and new connections: zero failed requests', async () => {
    const server = await startServer([fixture('app.ts'), ...certArgs(), '--processes', '2']);
    const ca = readFileSync(pki.caCert);
    const url = `${server.httpsUrl}pid`;
    const keepAlive = new Load(url, { loops: 4, keepAlive: true, maxMs: 30_000, agent: { connect: { ca } } });
    const fresh = new Load(url, { loops: 2, keepAlive: false, maxMs: 30_000, agent: { connect: { ca } } });
    await sleep(500);
    const from = server.output().length;
    server.signal('SIGHUP');
    await server.waitFor(/Reload complete/, 20_000, from);
    await sleep(1000); // keep loading while the old workers drain
    const [a, b] = [await keepAlive.stop(), await fresh.stop()];
    assert.equal(a.failed, 0, `keep-alive failures: ${a.errors.join('; ')}`);
    assert.equal(b.failed, 0, `new-connection failures: ${b.errors.join('; ')}`);
    assert.ok(a.ok > 50 && b.ok > 20, `too little load to prove anything: ${a.ok} + ${b.ok}`);
    assert.ok(a.bodies.size >= 3, `the pids before and after the reload: ${[...a.bodies].join(' ')}`);
  });

  it('SIGTERM lets an in-flight HTTPS request finish, then exits 0', async () => {
    const server = await startServer([fixture('app.ts'), ...certArgs()]);
    const agent = trusting(pki.caCert);
    const https = { ...server, url: server.httpsUrl! } as RunningServer;
    const { response } = await sleepInApp(https, 700, (u) => request(u, { dispatcher: agent }));
    server.signal('SIGTERM');
    const res = await response;
    assert.equal(res.statusCode, 200);
    assert.match(await res.body.text(), /^slept \d+/);
    assert.equal((await server.exited()).code, 0);
    assert.ok(await waitGone(server.pid));
    await agent.close();
  });

  it('a TLS keep-alive connection idle at SIGHUP is closed by the old worker, not reset mid-request', async () => {
    const server = await startServer([fixture('app.ts'), ...certArgs()]);
    const socket = tls.connect({ port: server.httpsPort!, host: '127.0.0.1', ca: readFileSync(pki.caCert), servername: 'localhost' });
    await once(socket, 'secureConnect');
    let received = '';
    socket.on('data', (d) => (received += d));
    socket.write('GET /pid HTTP/1.1\r\nHost: localhost\r\n\r\n');
    while (!/\r\n\r\n\d+$/.test(received)) await once(socket, 'data');
    const from = server.output().length;
    server.signal('SIGHUP');
    await server.waitFor(/Reload complete/, 20_000, from);
    received = '';
    socket.write('GET /pid HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await once(socket, 'end');
    assert.match(received, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(received, /\r\nConnection: close\r\n/i);
  });
});
