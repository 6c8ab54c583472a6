/**
 * The HTTPS options through the real CLI: client certificates
 * (--ssl-ca-certificate-file, --ssl-verify-client), --ssl-environment,
 * --https-only, --hsts-policy, --ssl-min-version, --ssl-ciphers, session
 * resumption across workers, reloads and key rotation, and certificate renewal
 * without a restart. Certificates are made in the test with openssl; clients
 * are curl, openssl s_client, node:tls and node:http2.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { curl, output, sClient } from '../helpers/clients.js';
import { h2connect, h2request } from '../helpers/h2.js';
import { fixture, killAll, runCli, startServer, type RunningServer } from '../helpers/server.js';
import { ca, certArgs, pki, useTestPki } from '../helpers/tls.js';

const dirs: string[] = [];
useTestPki();
after(() => {
  killAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});


/** The distinguished name as `openssl x509 -nameopt RFC2253` prints it: what mod_ssl's SSL_*_DN hold. */
async function rfc2253(file: string, which: 'subject' | 'issuer'): Promise<string> {
  const out = await output('openssl', ['x509', '-in', file, '-noout', `-${which}`, '-nameopt', 'RFC2253']);
  return out.trim().replace(/^(subject|issuer)=/, '');
}

async function curlJson(args: string[]): Promise<{ code: number | null; status: number; body: Record<string, unknown> | string }> {
  const r = await curl(['-w', '\n%{http_code}', ...args]);
  const at = r.stdout.lastIndexOf('\n');
  const text = r.stdout.slice(0, at);
  let body: Record<string, unknown> | string = text;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {}
  return { code: r.code, status: Number(r.stdout.slice(at + 1)), body };
}

describe('client certificates and --ssl-environment', { timeout: 120_000 }, () => {
  let server: RunningServer;
  let base: string;
  const asAlice = () => ['--cacert', pki.caCert, '--cert', pki.clientCert, '--key', pki.clientKey];
  before(async () => {
    server = await startServer([fixture('app.ts'), ...certArgs(), '--http2', '--ssl-environment',
      '--ssl-ca-certificate-file', pki.caCert, '--ssl-verify-client', '/environ/private']);
    base = `https://localhost:${server.httpsPort}`;
  });

  it('refuses a request under the prefix without a certificate (403), and lets one with it through', async () => {
    const none = await curlJson(['--cacert', pki.caCert, `${base}/environ/private/x`]);
    assert.equal(none.status, 403);
    assert.match(String(none.body), /client certificate/);
    const alice = await curlJson([...asAlice(), `${base}/environ/private/x`]);
    assert.equal(alice.status, 200);
    assert.equal((alice.body as Record<string, unknown>).SSL_CLIENT_VERIFY, 'SUCCESS');
  });

  it('openssl s_client: the handshake names the CA it accepts; with a certificate the request passes, without it 403', async () => {
    const request = 'GET /environ/private/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';
    const alice = await sClient(server.httpsPort!, ['-CAfile', pki.caCert, '-cert', pki.clientCert, '-key', pki.clientKey, '-ign_eof'], request);
    assert.match(alice.stdout, /Acceptable client certificate CA names\n.*CN ?= ?tsgi-express test CA/);
    // Not at a line start: s_client prints the session tickets that arrive beside the answer.
    assert.match(alice.stdout, /HTTP\/1\.1 200 OK\r\n/);
    assert.match(alice.stdout, /"SSL_CLIENT_S_DN":"[^"]*CN=alice/);
    const none = await sClient(server.httpsPort!, ['-CAfile', pki.caCert, '-ign_eof'], request);
    assert.match(none.stdout, /HTTP\/1\.1 403 Forbidden\r\n/);
  });

  it('refuses a certificate the CA did not sign, and says why in SSL_CLIENT_VERIFY elsewhere', async () => {
    const mallory = ['--cacert', pki.caCert, '--cert', pki.strangerCert, '--key', pki.strangerKey];
    assert.equal((await curlJson([...mallory, `${base}/environ/private/x`])).status, 403);
    const open = await curlJson([...mallory, `${base}/environ/open`]);
    assert.equal(open.status, 200);
    assert.match(String((open.body as Record<string, unknown>).SSL_CLIENT_VERIFY), /^FAILED:(unable to get local issuer certificate|unable to verify the first certificate)$/);
  });

  it('matches prefixes on segment boundaries, after decoding and dot-segment removal', async () => {
    assert.equal((await curlJson(['--cacert', pki.caCert, `${base}/environ/privateer`])).status, 200);
    assert.equal((await curlJson(['--cacert', pki.caCert, `${base}/environ/private`])).status, 403);
    assert.equal((await curlJson(['--cacert', pki.caCert, '--path-as-is', `${base}/environ/open/../private/x`])).status, 403);
    assert.equal((await curlJson(['--cacert', pki.caCert, `${base}/environ/%70rivate/x`])).status, 403);
  });

  it('refuses the prefix on the plain HTTP port, which cannot carry a certificate', async () => {
    assert.equal((await curlJson([`${server.url}environ/private/x`])).status, 403);
    const plain = (await curlJson([`${server.url}environ/open`])).body as Record<string, unknown>;
    assert.deepEqual(Object.keys(plain).filter((k) => k.startsWith('SSL_')), []);
  });

  it("gives mod_ssl's SSL_* variables in mod_ssl's formats", async () => {
    const env = (await curlJson([...asAlice(), '--tlsv1.3', `${base}/environ/private/x`])).body as Record<string, string>;
    assert.equal(env.SSL_PROTOCOL, 'TLSv1.3');
    assert.match(env.SSL_CIPHER!, /^TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$/);
    assert.equal(env.SSL_CIPHER_USEKEYSIZE, env.SSL_CIPHER!.includes('128') ? '128' : '256');
    assert.equal(env.SSL_SERVER_S_DN, await rfc2253(pki.serverCert, 'subject'));
    assert.equal(env.SSL_SERVER_I_DN, await rfc2253(pki.serverCert, 'issuer'));
    assert.equal(env.SSL_CLIENT_S_DN, await rfc2253(pki.clientCert, 'subject'));
    assert.equal(env.SSL_CLIENT_S_DN, 'O=tsgi-express tests,CN=alice');
    assert.equal(env.SSL_CLIENT_I_DN, await rfc2253(pki.clientCert, 'issuer'));
    const serial = (await output('openssl', ['x509', '-in', pki.clientCert, '-noout', '-serial'])).trim().replace(/^serial=/, '');
    assert.equal(env.SSL_CLIENT_M_SERIAL, serial);
    const start = (await output('openssl', ['x509', '-in', pki.clientCert, '-noout', '-startdate'])).trim().replace(/^notBefore=/, '');
    const end = (await output('openssl', ['x509', '-in', pki.clientCert, '-noout', '-enddate'])).trim().replace(/^notAfter=/, '');
    assert.equal(env.SSL_CLIENT_V_START, start);
    assert.equal(env.SSL_CLIENT_V_END, end);
    assert.equal(env.SSL_CLIENT_CERT!.trim(), readFileSync(pki.clientCert, 'utf8').trim());
    const anonymous = (await curlJson(['--cacert', pki.caCert, '--tlsv1.2', '--tls-max', '1.2', `${base}/environ/open`])).body as Record<string, string>;
    assert.equal(anonymous.SSL_CLIENT_VERIFY, 'NONE');
    assert.equal(anonymous.SSL_PROTOCOL, 'TLSv1.2');
    assert.equal(anonymous.SSL_CLIENT_S_DN, undefined);
  });

  it('works the same over HTTP/2', async () => {
    const session = await h2connect(server.httpsUrl!, ca);
    assert.equal((await h2request(session, { ':path': '/environ/private/x' })).status, 403);
    session.close();
    const alice = await h2connectWithCert(server.httpsUrl!);
    const res = await h2request(alice, { ':path': '/environ/private/x' });
    alice.close();
    assert.equal(res.status, 200);
    const env = JSON.parse(res.body) as Record<string, string>;
    assert.equal(env.SSL_CLIENT_VERIFY, 'SUCCESS');
    assert.equal(env.SERVER_PROTOCOL, 'HTTP/2');
  });

  it('lets a node app read the peer certificate', async () => {
    const node = await startServer([fixture('tls-node.ts'), ...certArgs(), '--ssl-ca-certificate-file', pki.caCert, '--ssl-verify-client', '/only-here']);
    const r = await curl(['--cacert', pki.caCert, '--cert', pki.clientCert, '--key', pki.clientKey, `https://localhost:${node.httpsPort}/`]);
    const seen = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(seen.peerSubject, 'alice');
    assert.equal(seen.authorized, true);
  });

  it('without --ssl-verify-client, the CA requires a certificate for the whole site (as mod_wsgi-express)', async () => {
    const site = await startServer([fixture('app.ts'), ...certArgs(), '--ssl-ca-certificate-file', pki.caCert]);
    const b = `https://localhost:${site.httpsPort}`;
    assert.equal((await curlJson(['--cacert', pki.caCert, `${b}/`])).status, 403);
    assert.equal((await curlJson([...asAlice(), `${b}/`])).status, 200);
  });

  async function h2connectWithCert(url: string) {
    const http2 = await import('node:http2');
    const session = http2.connect(url, { ca, servername: 'localhost', cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) });
    session.on('error', () => {});
    await once(session, 'connect');
    return session;
  }
});

describe('--https-only and --hsts-policy', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([fixture('app.ts'), ...certArgs(), '--https-only', '--hsts-policy', 'max-age=600; includeSubDomains']);
  });

  it('redirects the plain port to the same path and query on HTTPS (302)', async () => {
    const r = await curl(['-D', '-', '-o', '/dev/null', '-H', `Host: example.test:${server.port}`, `${server.url}a/b?c=1&d=%20`]);
    assert.match(r.stdout, /^HTTP\/1\.1 302 Found\r\n/);
    assert.match(r.stdout, new RegExp(`\\r\\nLocation: https://example\\.test:${server.httpsPort}/a/b\\?c=1&d=%20\\r\\n`, 'i'));
    assert.doesNotMatch(r.stdout, /Strict-Transport-Security/i);
    const followed = await curl(['-L', '--cacert', pki.caCert, '-o', '/dev/null', '-w', '%{http_code} %{url_effective}', `http://localhost:${server.port}/pid`]);
    assert.equal(followed.stdout, `200 https://localhost:${server.httpsPort}/pid`);
  });

  it('sends Strict-Transport-Security on HTTPS responses only, its own answers included', async () => {
    for (const pathname of ['/pid', '/%ff']) {
      const r = await curl(['-D', '-', '-o', '/dev/null', '--cacert', pki.caCert, `https://localhost:${server.httpsPort}${pathname}`]);
      assert.match(r.stdout, /\r\nStrict-Transport-Security: max-age=600; includeSubDomains\r\n/i, pathname);
    }
  });
});

describe('TLS versions and ciphers', { timeout: 60_000 }, () => {
  it('--ssl-min-version TLSv1.3 refuses TLS 1.2', async () => {
    const server = await startServer([fixture('app.ts'), ...certArgs(), '--ssl-min-version', 'TLSv1.3']);
    const v12 = await sClient(server.httpsPort!, ['-tls1_2', '-CAfile', pki.caCert, '-brief'], 'Q\n');
    assert.doesNotMatch(v12.stdout + v12.stderr, /Verification: OK/);
    const v13 = await sClient(server.httpsPort!, ['-tls1_3', '-CAfile', pki.caCert, '-brief'], 'Q\n');
    assert.match(v13.stdout + v13.stderr, /Protocol version: TLSv1\.3/);
  });

  it('--ssl-ciphers offers only the ciphers named', async () => {
    const server = await startServer([fixture('app.ts'), ...certArgs(), '--ssl-ciphers', 'ECDHE-RSA-AES128-GCM-SHA256']);
    const ok = await sClient(server.httpsPort!, ['-tls1_2', '-CAfile', pki.caCert, '-brief'], 'Q\n');
    assert.match(ok.stdout + ok.stderr, /Ciphersuite: ECDHE-RSA-AES128-GCM-SHA256/);
    const other = await sClient(server.httpsPort!, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES256-GCM-SHA384', '-CAfile', pki.caCert, '-brief'], 'Q\n');
    assert.doesNotMatch(other.stdout + other.stderr, /Verification: OK/);
  });
});

/** A TLS connection that sends one request and reads its answer; the session to resume with, and whether it was resumed. */
async function tlsRequest(port: number, session?: Buffer): Promise<{ body: string; reused: boolean; session: Buffer | undefined; serial: string }> {
  const socket = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, session, minVersion: 'TLSv1.3' });
  let ticket: Buffer | undefined;
  socket.on('session', (s: Buffer) => (ticket = s));
  await once(socket, 'secureConnect');
  const serial = socket.getPeerCertificate().serialNumber;
  const reused = socket.isSessionReused();
  socket.write('GET /pid HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  let text = '';
  socket.on('data', (d) => (text += d));
  await once(socket, 'close');
  return { body: text.split('\r\n\r\n')[1] ?? '', reused, session: ticket, serial };
}

describe('session resumption', { timeout: 90_000 }, () => {
  it('resumes on any worker, across a reload, until the ticket keys are replaced', async () => {
    // Keys for 15 s: the start, the requests and a reload (two worker starts one after the
    // other) must fit in them on a loaded machine.
    const server = await startServer([fixture('app.ts'), ...certArgs(), '--processes', '2', '--log-level', 'debug'], {
      env: { TSGI_EXPRESS_TLS_TICKET_KEY_SECONDS: '15' },
    });
    const first = await tlsRequest(server.httpsPort!);
    assert.equal(first.reused, false);
    assert.ok(first.session, 'no session ticket');
    const pids = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const again = await tlsRequest(server.httpsPort!, first.session);
      assert.equal(again.reused, true, `connection ${i} was not resumed`);
      pids.add(again.body);
    }
    assert.equal(pids.size, 2, `resumed on ${[...pids].join(', ')}: both workers expected`);
    const from = server.output().length;
    server.signal('SIGHUP');
    await server.waitFor(/Reload complete/, 20_000, from);
    const afterReload = await tlsRequest(server.httpsPort!, first.session);
    assert.equal(afterReload.reused, true, 'not resumed by the new generation');
    assert.ok(!pids.has(afterReload.body));
    // The keys are replaced every 15 s here (12 h by default): a ticket older than that is not resumed.
    await server.waitFor(/TLS session-ticket keys replaced/, 20_000, from);
    assert.equal((await tlsRequest(server.httpsPort!, first.session)).reused, false);
  });
});

describe('certificate renewal without a restart', { timeout: 90_000 }, () => {
  it('serves the new pair to new connections on every worker; a broken or expired pair is refused, the old stays', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-renew-'));
    dirs.push(dir);
    const certFile = path.join(dir, 'site.crt');
    const keyFile = path.join(dir, 'site.key');
    copyFileSync(pki.serverCert, certFile);
    copyFileSync(pki.serverKey, keyFile);
    const server = await startServer([fixture('app.ts'), '--https-port', '0', '--ssl-certificate-file', certFile, '--ssl-certificate-key-file', keyFile, '--processes', '2']);
    const port = server.httpsPort!;
    const oldSerial = (await tlsRequest(port)).serial;
    // A keep-alive connection made before the renewal keeps working after it.
    const open = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca });
    await once(open, 'secureConnect');
    const openSerial = open.getPeerCertificate().serialNumber;
    const serials = async () => new Set(await Promise.all(Array.from({ length: 6 }, async () => (await tlsRequest(port)).serial)));

    // A key that is not the certificate's: refused, logged, the old pair stays.
    let from = server.output().length;
    copyFileSync(pki.ecKey, `${keyFile}.tmp`);
    renameSync(`${keyFile}.tmp`, keyFile);
    await server.waitFor(/certificate renewal refused, the current certificate stays: .*is not the private key/, 10_000, from);
    assert.deepEqual([...await serials()], [oldSerial]);

    // An expired pair: refused too.
    from = server.output().length;
    copyFileSync(pki.expiredCert, `${certFile}.tmp`);
    copyFileSync(pki.expiredKey, `${keyFile}.tmp`);
    renameSync(`${certFile}.tmp`, certFile);
    renameSync(`${keyFile}.tmp`, keyFile);
    await server.waitFor(/certificate renewal refused, the current certificate stays: .*expired/, 10_000, from);
    assert.deepEqual([...await serials()], [oldSerial]);

    // A good new pair, saved by renaming over the old files: every worker serves it.
    const renewed = pki.renew();
    from = server.output().length;
    copyFileSync(renewed.cert, `${certFile}.tmp`);
    copyFileSync(renewed.key, `${keyFile}.tmp`);
    renameSync(`${keyFile}.tmp`, keyFile);
    renameSync(`${certFile}.tmp`, certFile);
    await server.waitFor(/certificate renewed: serial [0-9A-F]+/, 10_000, from);
    await sleep(200); // the master's message on its way to both workers
    assert.deepEqual([...await serials()], [renewed.serial.toUpperCase()]);

    let text = '';
    open.on('data', (d) => (text += d));
    open.write('GET /pid HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    await once(open, 'close');
    assert.match(text, /^HTTP\/1\.1 200 OK/);
    assert.equal(openSerial, oldSerial);
  });
});

describe('bad client-certificate and HTTPS-policy options stop the server, naming the flag', { timeout: 60_000 }, () => {
  const start = (args: string[]) => runCli(['start-server', fixture('app.ts'), '--host', '127.0.0.1', '--port', '0', ...args]);
  const cases: [string, () => string[], RegExp][] = [
    ['--ssl-verify-client without a CA', () => [...certArgs(), '--ssl-verify-client', '/x'], /--ssl-verify-client needs --ssl-ca-certificate-file/],
    ['a CA file that is not PEM', () => [...certArgs(), '--ssl-ca-certificate-file', pki.notPem], /--ssl-ca-certificate-file .*not-pem\.txt: holds no PEM certificate/],
    ['--ssl-verify-client not a path', () => [...certArgs(), '--ssl-ca-certificate-file', pki.caCert, '--ssl-verify-client', 'private'], /--ssl-verify-client must be a URL path starting with \//],
    ['--https-only without --https-port', () => ['--https-only'], /--https-only needs --https-port/],
    ['--hsts-policy with a line break', () => [...certArgs(), '--hsts-policy', 'max-age=1\r\nX-Evil: 1'], /--hsts-policy must be one line/],
    ['--ssl-ciphers naming nothing', () => [...certArgs(), '--ssl-ciphers', 'NO-SUCH-CIPHER'], /--ssl-ciphers names no cipher OpenSSL can use/],
    ['--ssl-min-version not a version', () => [...certArgs(), '--ssl-min-version', 'TLSv1.1'], /--ssl-min-version must be one of: TLSv1\.2, TLSv1\.3/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const { code, output: out } = await start(args());
      assert.equal(code, 2, out);
      assert.match(out, message);
    });
  }
});
