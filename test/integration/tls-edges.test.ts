/**
 * Smaller promises of issue 17, each through the real CLI: a fetch app sees an
 * `https:` URL on the HTTPS listener (HTTP/1.1 and HTTP/2); a changed chain
 * file is renewed without a restart (openssl s_client shows the new chain); a
 * certificate, key or chain that cannot be read stops the server before it
 * starts, naming the flag (a directory given as the file; a file the user
 * running the CLI may not read); and --https-only leaves the port out of its
 * redirect when the HTTPS port is 443 (bound on loopback: the tests run as root).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { curl, sClient } from '../helpers/clients.js';
import { h2connect, h2request } from '../helpers/h2.js';
import { BIN, fixture, killAll, runCli, startServer } from '../helpers/server.js';
import { ca, pki, useTestPki } from '../helpers/tls.js';

const dirs: string[] = [];
useTestPki();
after(() => {
  killAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(mode?: number): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-tls-edges-'));
  if (mode !== undefined) chmodSync(dir, mode);
  dirs.push(dir);
  return dir;
}

const pair = () => ['--ssl-certificate-file', pki.serverCert, '--ssl-certificate-key-file', pki.serverKey];

describe('a fetch app on the HTTPS listener', { timeout: 60_000 }, () => {
  it('sees an https: URL with the HTTPS port, over HTTP/1.1 and HTTP/2; http: on the plain port', async () => {
    const server = await startServer([fixture('fetch-url.ts'), '--https-port', '0', ...pair(), '--http2']);
    const agent = new Agent({ connect: { ca, servername: 'localhost' } });
    try {
      const secure = `https://localhost:${server.httpsPort}/a/b?c=1`;
      const h1 = await request(`https://127.0.0.1:${server.httpsPort}/a/b?c=1`, { dispatcher: agent, headers: { host: `localhost:${server.httpsPort}` } });
      assert.equal(await h1.body.text(), secure);
      const session = await h2connect(`https://localhost:${server.httpsPort}`, ca);
      const h2 = await h2request(session, { ':path': '/a/b?c=1' });
      session.close();
      assert.equal(h2.body, secure);
      const viaCurl = await curl(['--http2', '--cacert', pki.caCert, '-s', secure]);
      assert.equal(viaCurl.stdout, secure, viaCurl.stderr);
      const plain = await request(`${server.url}a/b?c=1`);
      assert.equal(await plain.body.text(), `http://127.0.0.1:${server.port}/a/b?c=1`);
    } finally {
      await agent.close();
    }
  });
});

/** The certificates the server sends (openssl s_client -showcerts), as their subjects. */
async function sentChain(port: number): Promise<string[]> {
  const out = await sClient(port, ['-showcerts', '-CAfile', pki.caCert, '-verify_return_error'], 'Q\n');
  assert.match(out.stdout, /Verify return code: 0 \(ok\)/, out.stdout + out.stderr);
  return [...out.stdout.matchAll(/^ *\d+ s:(.*)$/gm)].map((m) => m[1]!.trim());
}

describe('certificate renewal with a changed chain file', { timeout: 60_000 }, () => {
  it('new handshakes get the new chain, without a restart', async () => {
    const dir = tempDir();
    const files = { cert: path.join(dir, 'site.crt'), key: path.join(dir, 'site.key'), chain: path.join(dir, 'chain.pem') };
    copyFileSync(pki.leafCert, files.cert);
    copyFileSync(pki.leafKey, files.key);
    copyFileSync(pki.chain, files.chain);
    const server = await startServer([fixture('app.ts'), '--https-port', '0', '--ssl-certificate-file', files.cert,
      '--ssl-certificate-key-file', files.key, '--ssl-certificate-chain-file', files.chain, '--processes', '2']);
    const before = await sentChain(server.httpsPort!);
    assert.equal(before.length, 2, before.join('\n'));
    // The chain file alone changes (saved by renaming over it): now it carries the root as well.
    const from = server.output().length;
    writeFileSync(`${files.chain}.tmp`, readFileSync(pki.chain, 'utf8') + readFileSync(pki.caCert, 'utf8'));
    renameSync(`${files.chain}.tmp`, files.chain);
    await server.waitFor(/certificate renewed: serial [0-9A-F]+/, 10_000, from);
    // Both workers: several new handshakes, each with the three certificates.
    for (let i = 0; i < 4; i++) {
      const after = await sentChain(server.httpsPort!);
      assert.equal(after.length, 3, after.join('\n'));
      assert.match(after[2]!, /tsgi-express test CA/);
    }
  });
});

describe('a certificate, key or chain that cannot be read', { timeout: 90_000 }, () => {
  const start = (args: string[], opts = {}) =>
    runCli(['start-server', fixture('app.ts'), '--host', '127.0.0.1', '--port', '0', '--https-port', '0', ...args], opts);

  for (const flag of ['ssl-certificate-file', 'ssl-certificate-key-file', 'ssl-certificate-chain-file'] as const) {
    it(`--${flag} naming a directory: exit 2 naming the flag, nothing started`, async () => {
      const dir = tempDir();
      const args = { 'ssl-certificate-file': pki.serverCert, 'ssl-certificate-key-file': pki.serverKey } as Record<string, string>;
      args[flag] = dir;
      const { code, output } = await start(Object.entries(args).flatMap(([name, value]) => [`--${name}`, value]));
      assert.equal(code, 2, output);
      assert.match(output, new RegExp(`--${flag} ${dir}: cannot be read`));
      assert.doesNotMatch(output, /Ready:/);
    });
  }

  it('a key only root may read, the CLI run as nobody: exit 2, "permission denied", naming the flag', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to run the CLI as another user');
    const canRun = spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(BIN)}, 4)`], { uid: 65534, gid: 65534 });
    if (canRun.status !== 0) return t.skip('user nobody cannot run this checkout\'s CLI');
    // The certificate where anyone may read it; the key in root's 0600, in a directory only root enters.
    const open = tempDir(0o755);
    const cert = path.join(open, 'site.crt');
    copyFileSync(pki.serverCert, cert);
    chmodSync(cert, 0o644);
    const dir = tempDir(0o700);
    const key = path.join(dir, 'site.key');
    copyFileSync(pki.serverKey, key);
    chmodSync(key, 0o600);
    const { code, output } = await start(['--ssl-certificate-file', cert, '--ssl-certificate-key-file', key,
      '--server-root', tempDir(0o777)], { uid: 65534, gid: 65534 });
    assert.equal(code, 2, output);
    assert.match(output, new RegExp(`--ssl-certificate-key-file ${key}: cannot be read \\(permission denied\\)`));
    assert.doesNotMatch(output, /Ready:/);
  });
});

describe('--https-only with the HTTPS port 443', { timeout: 60_000 }, () => {
  it('redirects to https://host/path with no port', async (t) => {
    const probe = net.createServer();
    const free = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(false));
      probe.listen(443, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (!free) return t.skip('127.0.0.1:443 is in use');
    const server = await startServer([fixture('app.ts'), '--https-port', '443', ...pair(), '--https-only']);
    const res = await request(`${server.url}some/path?q=1`, { headers: { host: 'example.test' } });
    await res.body.text();
    assert.equal(res.statusCode, 302);
    assert.equal(res.headers.location, 'https://example.test/some/path?q=1');
    const secure = await curl(['--cacert', pki.caCert, '-s', '--resolve', 'localhost:443:127.0.0.1', 'https://localhost/pid']);
    assert.match(secure.stdout, /^\d+$/, secure.stderr);
  });
});
