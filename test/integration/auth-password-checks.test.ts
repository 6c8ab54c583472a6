// htpasswd checks through a real server: an unknown user costs the same work as a
// wrong password (a check against a dummy hash of the file's kind and cost, seen in
// the debug log, not timed), bcrypt checks are capped per worker and queued, and
// a queued check whose client hung up is never started.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { fixture, killAll, startServer, type RunningServer } from '../helpers/server.js';

const dirs: string[] = [];
after(async () => {
  killAll();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

function htpasswdLine(flags: string[], user: string, password: string): string {
  return execFileSync('htpasswd', ['-nb', ...flags, user, password], { encoding: 'utf8' }).trim();
}

async function passwordFile(lines: string[]): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tsgi-checks-'));
  dirs.push(dir);
  const file = path.join(dir, 'htpasswd');
  await writeFile(file, lines.join('\n') + '\n');
  return file;
}

async function status(server: RunningServer, headers: Record<string, string>): Promise<number> {
  const res = await request(server.url, { headers, reset: true, headersTimeout: 30_000, bodyTimeout: 30_000 });
  await res.body.dump();
  return res.statusCode;
}

/** The request id of the failed-login line for `user` logged after `from`. */
async function failedLoginRid(server: RunningServer, user: string, reason: string, from: number): Promise<string> {
  const m = await server.waitFor(new RegExp(`\\[tsgi:warn\\] \\[pid \\d+\\] \\[rid ([^\\]]+)\\] \\[client [^\\]]+\\] user "${user}": authentication failure for "/": ${reason}`), 15_000, from);
  return m[1]!;
}

/** The hash kinds the debug log says were checked for request `rid`. */
function checkedKinds(output: string, rid: string): string[] {
  const re = new RegExp(`\\[tsgi:debug\\] \\[pid \\d+\\] \\[rid ${rid.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\] password check started: (\\S+)`, 'g');
  return [...output.matchAll(re)].map((m) => m[1]!);
}

describe('an unknown user costs what a wrong password costs', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    const file = await passwordFile([
      htpasswdLine(['-B', '-C', '6'], 'alice', 'secret'),
      htpasswdLine(['-m'], 'carol', 'secret'),
      htpasswdLine(['-B', '-C', '6'], 'bob', 'secret'),
    ]);
    server = await startServer([fixture('auth/echo-app.ts'), '--auth-user-file', file, '--log-level', 'debug']);
  });

  it('the unknown user is checked against a hash of the kind and cost most users have, as a known user with a wrong password is', async () => {
    const from = server.output().length;
    assert.equal(await status(server, { authorization: basic('ghost', 'secret') }), 401);
    assert.equal(await status(server, { authorization: basic('alice', 'wrong') }), 401);
    assert.equal(await status(server, { authorization: basic('carol', 'wrong') }), 401);
    const ghost = await failedLoginRid(server, 'ghost', 'user not found', from);
    const alice = await failedLoginRid(server, 'alice', 'password mismatch', from);
    const carol = await failedLoginRid(server, 'carol', 'password mismatch', from);
    const out = server.output();
    assert.deepEqual(checkedKinds(out, alice), ['$2y$06$']);
    assert.deepEqual(checkedKinds(out, ghost), ['$2y$06$'], 'the unknown user got the same check as a wrong bcrypt password');
    assert.deepEqual(checkedKinds(out, carol), ['$apr1$']);
    // The dummy is no user's: the right password of every user still fails for a name not in the file.
    assert.equal(await status(server, { authorization: basic('ghost', 'secret') }), 401);
    assert.equal(await status(server, { authorization: basic('alice', 'secret') }), 200);
  });
});

/** A wrong-password request on its own raw connection, left open until the test closes it. */
function openRequest(server: RunningServer, user: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1', () => {
      socket.write(`GET / HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic(user, 'wrong')}\r\n\r\n`);
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

describe('bcrypt checks: capped per worker, dropped when their client has gone', { timeout: 120_000 }, () => {
  let server: RunningServer;
  before(async () => {
    const file = await passwordFile([htpasswdLine(['-B', '-C', '12'], 'alice', 'secret')]);
    server = await startServer([fixture('auth/echo-app.ts'), '--auth-user-file', file, '--log-level', 'debug', '--processes', '1']);
  });

  it('many concurrent wrong passwords: at most 2 checks run at once, the rest wait, and every one is answered 401', async () => {
    const from = server.output().length;
    const statuses = await Promise.all(Array.from({ length: 6 }, (_, i) => status(server, { authorization: basic(i % 2 ? 'alice' : 'ghost', 'wrong') })));
    assert.deepEqual(statuses, Array(6).fill(401));
    await server.waitFor(/(?:[\s\S]*?authentication failure){6}/, 10_000, from); // log lines come in batches
    const out = server.output().slice(from);
    const running = [...out.matchAll(/password check started: \S+ \((\d+) of 2 bcrypt checks running/g)].map((m) => Number(m[1]));
    assert.equal(running.length, 6);
    assert.ok(Math.max(...running) <= 2, `running at once: ${running.join(',')}`);
    assert.match(out, /password check waiting: 2 of 2 bcrypt checks running, [1-4] waiting/);
  });

  it('clients that hang up while their checks wait: those checks never start, and the server keeps serving', async () => {
    const from = server.output().length;
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 10; i++) sockets.push(await openRequest(server, i % 2 ? 'alice' : 'ghost'));
    await server.waitFor(/password check waiting: 2 of 2 bcrypt checks running, 8 waiting/, 30_000, from);
    for (const s of sockets) s.destroy();
    await server.waitFor(/(?:[\s\S]*?password check not started: the client left while it waited){8}/, 60_000, from);
    // The two that ran answered nobody; the eight that waited never ran.
    assert.equal(await status(server, { authorization: basic('alice', 'secret') }), 200);
    await server.waitFor(/(?:[\s\S]*?password check started){3}/, 10_000, from);
    // The two checks that ran for hung-up clients log their failure when bcrypt is done, maybe after the third.
    await server.waitFor(/(?:[\s\S]*?authentication failure){2}/, 10_000, from);
    const out = server.output().slice(from);
    assert.equal([...out.matchAll(/password check started: \$2y\$12\$/g)].length, 3, 'two from the hung-up clients, one for the good password');
    assert.equal([...out.matchAll(/password check not started/g)].length, 8);
    assert.equal([...out.matchAll(/authentication failure/g)].length, 2, 'no failed login is logged for a check that never ran');
  });
});
