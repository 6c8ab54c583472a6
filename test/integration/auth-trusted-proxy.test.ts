// Access control behind a trusted proxy (--trust-proxy-header, --trust-proxy): the
// host-access script's `host` and the failed-login lines fail2ban reads name the
// client the forwarded headers give (REMOTE_ADDR), not the proxy in front.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { request } from 'undici';
import { fixture, killAll, ROOT, startServer, type RunningServer } from '../helpers/server.js';

const run = promisify(execFile);
const dirs: string[] = [];
after(async () => {
  killAll();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

async function status(server: RunningServer, path: string, headers: Record<string, string>): Promise<number> {
  const res = await request(new URL(path, server.url), { headers, reset: true, headersTimeout: 10_000, bodyTimeout: 10_000 });
  await res.body.dump();
  return res.statusCode;
}

describe('access control behind a trusted proxy', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([
      fixture('auth/echo-app.ts'),
      '--trust-proxy-header', 'X-Forwarded-For',
      '--trust-proxy', '127.0.0.1/32',
      '--host-access-script', fixture('auth/host.ts'),
      '--auth-user-script', fixture('auth/users.ts'),
    ]);
  });

  it("allowAccess's host is the forwarded client, as REMOTE_ADDR is; its denial names that client", async () => {
    const ok = basic('yes', 'pw');
    const forwarded = { 'x-access': 'expect', authorization: ok, 'x-forwarded-for': '203.0.113.7' };
    assert.equal(await status(server, '/', { ...forwarded, 'x-expect-host': '203.0.113.7' }), 200);
    assert.equal(await status(server, '/', { ...forwarded, 'x-expect-host': '127.0.0.1' }), 403);
    // The proxy's own requests (no forwarded header) are still its own.
    assert.equal(await status(server, '/', { 'x-access': 'expect', authorization: ok, 'x-expect-host': '127.0.0.1' }), 200);
    const from = server.output().length;
    assert.equal(await status(server, '/', { 'x-access': 'false', 'x-forwarded-for': '198.51.100.9, 127.0.0.1' }), 403);
    await server.waitFor(/\[tsgi:warn\].*\[client 198\.51\.100\.9:\d+\] client denied by --host-access-script/, 5000, from);
  });

  it('fail2ban-regex bans the forwarded client of a failed login, never the proxy; a forwarded value that is no address gives the peer', async () => {
    const from = server.output().length;
    const tries: [string, string][] = [
      ['203.0.113.7', 'spy'],
      ['2001:db8::7, 127.0.0.1', 'nobody'],
      // The leftmost entry before the trusted proxies is whatever the client wrote.
      ['1.2.3.4:1] user "x": authentication failure for "/ 10.9.9.9, 127.0.0.1', 'no'],
    ];
    for (const [xff, user] of tries) {
      assert.equal(await status(server, '/', { 'x-forwarded-for': xff, authorization: basic(user, 'bad') }), 401);
    }
    await server.waitFor(/\[client 127\.0\.0\.1:\d+\] user "no": authentication failure/, 5000, from);
    const dir = await mkdtemp(path.join(tmpdir(), 'tsgi-f2b-proxy-'));
    dirs.push(dir);
    const log = path.join(dir, 'error.log');
    await writeFile(log, server.output().slice(from));
    const { stdout } = await run('fail2ban-regex', ['-v', log, path.join(ROOT, 'templates/fail2ban/tsgi-express.conf')]);
    assert.match(stdout, /Failregex: 3 total/);
    const hosts = [...stdout.matchAll(/^\|\s+(\S+)\s+\w{3} \w{3} \d+ [\d:]+ \d{4}$/gm)].map((m) => m[1]);
    assert.deepEqual(hosts, ['203.0.113.7', '2001:db8::7', '127.0.0.1']);
  });
});
