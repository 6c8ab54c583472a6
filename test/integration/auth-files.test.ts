// htpasswd and htdigest files made by Debian's apache2-utils, Digest through curl
// and a hand-made client (nonces across two workers, stale, replay, wrong uri),
// start-up errors (exit 2 naming the flag), and changes to files and scripts
// taking effect under load with zero failed requests.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { request } from 'undici';
import { digestAuthorization, parseChallenge } from '../helpers/digest.js';
import { Load } from '../helpers/load.js';
import { fixture, killAll, runCli, startServer, type RunningServer } from '../helpers/server.js';

const run = promisify(execFile);
const dirs: string[] = [];
after(async () => {
  killAll();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tsgi-auth-'));
  dirs.push(dir);
  return dir;
}

function htpasswdLine(flag: string, user: string, password: string): string {
  return execFileSync('htpasswd', ['-nb' + flag, user, password], { encoding: 'utf8' }).trim();
}

/** htdigest reads the password twice from its terminal; a pipe works as well. */
function htdigest(file: string, realm: string, user: string, password: string, create = false): void {
  execFileSync('htdigest', [...(create ? ['-c'] : []), file, realm, user], { input: `${password}\n${password}\n` });
}

async function curlStatus(args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await run('curl', ['-s', '-w', '\n%{http_code}', ...args]);
  const nl = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(nl + 1)), body: stdout.slice(0, nl) };
}

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { headers, reset: true, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

describe('--auth-user-file (htpasswd)', { timeout: 90_000 }, () => {
  let dir: string;
  let file: string;
  let server: RunningServer;
  const schemes = { B: 'bcrypt', m: 'apr1', s: 'sha1', '2': 'sha256', '5': 'sha512' };

  before(async () => {
    dir = await tempDir();
    file = path.join(dir, 'htpasswd');
    const lines = Object.entries(schemes).map(([flag, name]) => htpasswdLine(flag, name, `pw-${name}:x`));
    await writeFile(file, lines.join('\n') + '\n');
    server = await startServer([fixture('auth/echo-app.ts'), '--auth-user-file', file, '--auth-realm', 'Trac', '--access-log']);
  });

  it('entries made by htpasswd -B, -m, -s, -2 and -5 let curl -u in, and only with the right password', async () => {
    for (const name of Object.values(schemes)) {
      const ok = await curlStatus(['-u', `${name}:pw-${name}:x`, `${server.url}x`]);
      assert.equal(ok.status, 200, name);
      assert.equal(JSON.parse(ok.body).user, name);
      assert.equal((await curlStatus(['-u', `${name}:pw-${name}:y`, `${server.url}x`])).status, 401, name);
    }
    const from = server.output().length;
    assert.equal((await curlStatus(['-u', 'nosuch:x', server.url])).status, 401);
    await server.waitFor(/\[client 127\.0\.0\.1:\d+\] user "nosuch": authentication failure for "\/": user not found/, 5000, from);
    const challenge = await get(server.url);
    assert.equal(challenge.headers['www-authenticate'], 'Basic realm="Trac", charset="UTF-8"');
  });

  it('a changed file is re-read in place (no reload): a new password works at once, the old stops; a bad version is logged and the old stays', async () => {
    const from = server.output().length;
    await writeFile(file, htpasswdLine('B', 'bcrypt', 'new-pw') + '\n' + htpasswdLine('s', 'added', 'pw') + '\n');
    await server.waitFor(/--auth-user-file .* re-read/, 10_000, from);
    assert.equal((await curlStatus(['-u', 'bcrypt:new-pw', server.url])).status, 200);
    assert.equal((await curlStatus(['-u', 'bcrypt:pw-bcrypt:x', server.url])).status, 401, 'the cached old password is forgotten');
    assert.equal((await curlStatus(['-u', 'added:pw', server.url])).status, 200);
    assert.equal((await curlStatus(['-u', 'sha1:pw-sha1:x', server.url])).status, 401, 'a removed user');
    assert.doesNotMatch(server.output().slice(from), /Reloading/);

    const before = server.output().length;
    await appendFile(file, htpasswdLine('p', 'plain', 'pw') + '\n');
    await server.waitFor(/--auth-user-file .* changed but cannot be used \(line 3: a plain-text password .*\); the previous version stays in force/, 10_000, before);
    assert.equal((await curlStatus(['-u', 'added:pw', server.url])).status, 200);
    assert.equal((await curlStatus(['-u', 'plain:pw', server.url])).status, 401);
  });
});

describe('--auth-digest-file and Digest', { timeout: 90_000 }, () => {
  let file: string;
  let server: RunningServer;

  before(async () => {
    const dir = await tempDir();
    file = path.join(dir, 'htdigest');
    htdigest(file, 'trac', 'admin', 'secret', true);
    htdigest(file, 'trac', 'john', 'p:w');
    htdigest(file, 'other', 'admin', 'elsewhere');
    server = await startServer([fixture('auth/echo-app.ts'), '--auth-digest-file', file, '--auth-realm', 'trac', '--processes', '2', '--access-log']);
  });

  it('curl --digest with an htdigest entry; the wrong password or realm gets 401', async () => {
    const ok = await curlStatus(['--digest', '-u', 'admin:secret', `${server.url}a/b?c=d`]);
    assert.equal(ok.status, 200);
    assert.deepEqual([JSON.parse(ok.body).user, JSON.parse(ok.body).type], ['admin', 'Digest']);
    assert.equal((await curlStatus(['--digest', '-u', 'john:p:w', server.url])).status, 200);
    assert.equal((await curlStatus(['--digest', '-u', 'admin:elsewhere', server.url])).status, 401);
    const challenge = parseChallenge((await get(server.url)).headers['www-authenticate']);
    assert.deepEqual([challenge.realm, challenge.qop, challenge.algorithm], ['trac', 'auth', 'MD5']);
    assert.ok(challenge.nonce && challenge.opaque);
  });

  it('a nonce from one worker is accepted by the other; a replayed (nonce, nc) is refused by both', async () => {
    const { nonce, opaque } = parseChallenge((await get(server.url)).headers['www-authenticate']);
    const auth = (nc: number) => digestAuthorization({ user: 'admin', password: 'secret', realm: 'trac', nonce: nonce!, uri: '/', nc, opaque });
    const first = await get(server.url, { authorization: auth(1) });
    assert.equal(first.status, 200);
    const firstPid = JSON.parse(first.text).pid;
    const pids = new Set([firstPid]);
    for (let nc = 2; nc < 12 && pids.size < 2; nc++) {
      const next = await get(server.url, { authorization: auth(nc) });
      assert.equal(next.status, 200, `nc ${nc}`);
      pids.add(JSON.parse(next.text).pid);
    }
    assert.equal(pids.size, 2, 'both workers accepted the same nonce');
    for (let i = 0; i < 6; i++) {
      const replay = await get(server.url, { authorization: auth(1) });
      assert.equal(replay.status, 401, `replay ${i}`);
      assert.equal(parseChallenge(replay.headers['www-authenticate']).stale, undefined);
    }
    await server.waitFor(/user "admin": authentication failure for "\/": nonce count 00000001 replayed/);
  });

  it('a nonce stays valid across a rolling reload (the key is the master\'s)', async () => {
    const { nonce, opaque } = parseChallenge((await get(server.url)).headers['www-authenticate']);
    const auth = (nc: number) => digestAuthorization({ user: 'john', password: 'p:w', realm: 'trac', nonce: nonce!, uri: '/', nc, opaque });
    assert.equal((await get(server.url, { authorization: auth(1) })).status, 200);
    const from = server.output().length;
    server.signal('SIGHUP');
    await server.waitFor(/Reload complete/, 30_000, from);
    assert.equal((await get(server.url, { authorization: auth(2) })).status, 200, 'new workers accept the old nonce');
    assert.equal((await get(server.url, { authorization: auth(1) })).status, 401, 'and still refuse its replay');
  });

  it('the uri must be the request target; malformed Digest headers get 400, a forged nonce 401', async () => {
    const { nonce } = parseChallenge((await get(server.url)).headers['www-authenticate']);
    const args = { user: 'admin', password: 'secret', realm: 'trac', nonce: nonce!, uri: '/other' };
    assert.equal((await get(`${server.url}x`, { authorization: digestAuthorization(args) })).status, 400);
    assert.equal((await get(`${server.url}x?q=1`, { authorization: digestAuthorization({ ...args, uri: '/x?q=1' }) })).status, 200);
    assert.equal((await get(`${server.url}x`, { authorization: digestAuthorization({ ...args, uri: '/x', extra: ', uri="/x"' }) })).status, 400, 'repeated uri');
    const missing = digestAuthorization({ ...args, uri: '/' }).replace(/, cnonce="[^"]*"/, '');
    assert.equal((await get(server.url, { authorization: missing })).status, 400, 'no cnonce');
    assert.equal((await get(server.url, { authorization: 'Digest garbage' })).status, 400);
    assert.equal((await get(server.url, { authorization: 'Digest ' })).status, 400);
    const forged = digestAuthorization({ ...args, uri: '/', nonce: 'A'.repeat(nonce!.length) });
    assert.equal((await get(server.url, { authorization: forged })).status, 401);
    assert.equal((await get(server.url, { authorization: 'Basic ' + Buffer.from('admin:secret').toString('base64') })).status, 401);
    assert.equal((await curlStatus(['--digest', '-u', 'admin:secret', server.url])).status, 200, 'still serving');
  });
});

describe('--auth-group-script with Digest (--auth-digest-file)', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'htdigest');
    const users = ['member', 'async-member', 'outsider', 'lonely', 'thrower', 'stringy', 'spy'];
    users.forEach((user, i) => htdigest(file, 'trac', user, 'pw', i === 0));
    server = await startServer([
      fixture('auth/echo-app.ts'), '--auth-digest-file', file, '--auth-realm', 'trac',
      '--auth-group-script', fixture('auth/groups.ts'), '--access-log',
    ]);
  });

  it('curl --digest: members get in as themselves; non-members, broken answers and wrong passwords get 401 with a Digest challenge', async () => {
    for (const user of ['member', 'async-member', 'spy']) {
      const ok = await curlStatus(['--digest', '-u', `${user}:pw`, server.url]);
      assert.equal(ok.status, 200, user);
      assert.deepEqual([JSON.parse(ok.body).user, JSON.parse(ok.body).type], [user, 'Digest']);
    }
    for (const user of ['outsider', 'lonely', 'thrower', 'stringy', 'nosuch']) {
      assert.equal((await curlStatus(['--digest', '-u', `${user}:pw`, server.url])).status, 401, user);
    }
    const from = server.output().length;
    const wrong = await curlStatus(['--digest', '-u', 'member:wrong', '-D', '-', '-o', '/dev/null', server.url]);
    assert.equal(wrong.status, 401);
    assert.match(wrong.body, /WWW-Authenticate: Digest realm="trac", qop="auth", algorithm=MD5, nonce="/i);
    await server.waitFor(/\[tsgi:warn\].*user "member": authentication failure for "\/": password mismatch/, 5000, from);
    await server.waitFor(/\[tsgi:warn\].*user "outsider": access to "\/" denied by --auth-group-script: not a member of group "tsgi"/);
    await server.waitFor(/\[tsgi:error\].*user "thrower": .*groupsForUser threw: Error: groupsForUser kaboom/);
    await server.waitFor(/\[tsgi:error\].*user "stringy": .*must return an iterable of group names/);
    await server.waitFor(/"GET \/ HTTP\/1\.1" 401 .*/);
    assert.match(server.output(), /- outsider \[[^\]]+\] "GET \/ HTTP\/1\.1" 401/, 'the access log names the user refused');
  });
});

describe('Digest with --auth-user-script (getRealmHash) and nonce expiry', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([fixture('auth/echo-app.ts'), '--auth-user-script', fixture('auth/users.ts'), '--auth-type', 'Digest', '--auth-nonce-lifetime', '1']);
  });

  const challenge = async () => parseChallenge((await get(server.url)).headers['www-authenticate']);

  it('getRealmHash: a hex hash (or a Promise of one) admits; null/undefined is 401; true, false, "" or a password is 500; a throw is 500', async () => {
    const realm = `127.0.0.1:${server.port}`;
    const from = server.output().length;
    for (const [user, status] of [['alice', 200], ['async', 200], ['nobody', 401], ['undef', 401], ['bool', 500], ['boolf', 500], ['empty', 500], ['plain', 500], ['throws', 500]] as const) {
      const { nonce } = await challenge();
      const a = await get(server.url, { authorization: digestAuthorization({ user, password: 'pw', realm, nonce: nonce!, uri: '/' }) });
      assert.equal(a.status, status, user);
    }
    await server.waitFor(/getRealmHash must return the 32 hex digits of MD5\("user:realm:password"\), or null\/undefined for no such user; it returned boolean true/, 5000, from);
    await server.waitFor(/getRealmHash threw: Error: getRealmHash kaboom\n[^\n]*\] +at getRealmHash \(.*users\.ts:\d+/, 5000, from);
    const curl = await curlStatus(['--digest', '-u', 'alice:pw', server.url]);
    assert.equal(JSON.parse(curl.body).user, 'alice');
  });

  it('an expired nonce answered with the right password gets 401 stale=true; with a wrong one, no stale', async () => {
    const realm = `127.0.0.1:${server.port}`;
    const { nonce } = await challenge();
    await sleep(2100); // --auth-nonce-lifetime 1: no event to wait for but the clock
    const right = await get(server.url, { authorization: digestAuthorization({ user: 'alice', password: 'pw', realm, nonce: nonce!, uri: '/' }) });
    assert.equal(right.status, 401);
    const renewed = parseChallenge(right.headers['www-authenticate']);
    assert.equal(renewed.stale, 'true');
    assert.notEqual(renewed.nonce, nonce);
    const wrong = await get(server.url, { authorization: digestAuthorization({ user: 'alice', password: 'no', realm, nonce: nonce!, uri: '/' }) });
    assert.equal(wrong.status, 401);
    assert.equal(parseChallenge(wrong.headers['www-authenticate']).stale, undefined);
    const retried = await get(server.url, { authorization: digestAuthorization({ user: 'alice', password: 'pw', realm, nonce: renewed.nonce!, uri: '/' }) });
    assert.equal(retried.status, 200);
  });
});

describe('start-up errors: exit 2 naming the flag', { timeout: 90_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  const app = fixture('auth/echo-app.ts');

  async function refused(args: string[], message: RegExp): Promise<void> {
    const { code, output } = await runCli(['start-server', app, '--port', '0', '--host', '127.0.0.1', ...args]);
    assert.equal(code, 2, output);
    assert.match(output, message);
  }

  it('plain-text and DES-crypt htpasswd entries, with the line number', async () => {
    const file = path.join(dir, 'weak');
    await writeFile(file, `${htpasswdLine('B', 'ok', 'x')}\n${htpasswdLine('d', 'des', 'secret')}\n`);
    await refused(['--auth-user-file', file], /--auth-user-file .*weak line 2: a DES-crypt hash \(htpasswd -d\) is refused/);
    await writeFile(file, `# users\n${htpasswdLine('p', 'plain', 'secret')}\n`);
    await refused(['--auth-user-file', file], /--auth-user-file .*weak line 2: a plain-text password \(htpasswd -p\) is refused/);
  });

  it('missing files and scripts, scripts without their export, and combinations that mean nothing', async () => {
    const htpasswd = path.join(dir, 'htpasswd');
    await writeFile(htpasswd, htpasswdLine('B', 'ok', 'x') + '\n');
    const digestFile = path.join(dir, 'htdigest');
    htdigest(digestFile, 'trac', 'admin', 'secret', true);
    await refused(['--auth-user-file', path.join(dir, 'nope')], /--auth-user-file .*nope: no such file/);
    await refused(['--auth-user-script', path.join(dir, 'nope.ts')], /--auth-user-script .*nope\.ts: no such file/);
    await refused(['--auth-user-script', fixture('auth/no-export.ts')], /--auth-user-script .*no-export\.ts exports no checkPassword function \(needed for --auth-type Basic\)/);
    await refused(['--auth-user-script', fixture('auth/no-export.ts'), '--auth-type', 'Digest'], /exports no getRealmHash function \(needed for --auth-type Digest\)/);
    await refused(['--auth-user-script', fixture('auth/users.ts'), '--auth-group-script', fixture('auth/no-export.ts')], /--auth-group-script .*exports no groupsForUser function/);
    await refused(['--host-access-script', fixture('auth/no-export.ts')], /--host-access-script .*exports no allowAccess function/);
    await refused(['--auth-group-script', fixture('auth/groups.ts')], /--auth-group-script needs a way to authenticate users/);
    await refused(['--auth-user-file', htpasswd, '--auth-type', 'Digest'], /--auth-type Digest cannot be used with --auth-user-file/);
    await refused(['--auth-digest-file', digestFile, '--auth-type', 'Basic', '--auth-realm', 'trac'], /--auth-type Basic cannot be used with --auth-digest-file/);
    await refused(['--auth-digest-file', digestFile], /--auth-digest-file .*htdigest has no entry for the realm "127\.0\.0\.1:\d+" \(it has "trac"\): give --auth-realm/);
    await refused(['--auth-user-file', htpasswd, '--auth-user-script', fixture('auth/users.ts')], /two ways to find users/);
    await refused(['--auth-group', 'staff', '--auth-user-file', htpasswd], /--auth-group needs --auth-group-script/);
    await refused(['--auth-location', 'relative', '--auth-user-file', htpasswd], /--auth-location must start with '\/'/);
    await refused(['--auth-realm', 'x'], /--auth-realm needs a way to authenticate users/);
  });
});

describe('changes under load: zero failed requests', { timeout: 120_000 }, () => {
  it('an edited --auth-user-script takes effect through a rolling reload; a broken edit keeps the old one', async () => {
    const dir = await tempDir();
    const script = path.join(dir, 'check.ts');
    const source = (password: string) => `export const checkPassword = (_e: unknown, user: string, pw: string) => user === 'u' && pw === '${password}';\n`;
    await writeFile(script, source('one'));
    const server = await startServer([fixture('auth/echo-app.ts'), '--auth-user-script', script, '--processes', '2']);
    const both = ['one', 'two'].map((pw) => 'Basic ' + Buffer.from(`u:${pw}`).toString('base64'));
    // Each loop sends one password; during the reload the old or the new workers answer.
    const old = new Load(server.url, { loops: 3, keepAlive: true, maxMs: 30_000, headers: { authorization: both[0]! } });
    await old.answered(5);
    const beforeEdit = old.result.ok;
    await writeFile(script, source('two'));
    await server.waitFor(/Reload complete/, 20_000);
    const oldResult = await old.stop();
    assert.equal(oldResult.failed, 0, oldResult.errors.join('; '));
    assert.ok(oldResult.ok > beforeEdit, 'requests were answered while the new workers started');
    // The new password now, the old one no more, and no request of the new one fails meanwhile.
    const fresh = new Load(server.url, { loops: 3, keepAlive: false, maxMs: 30_000, headers: { authorization: both[1]! } });
    await fresh.answered(5);
    const from = server.output().length;
    await writeFile(script, 'export const checkPassword = (;\n');
    await server.waitFor(/Reload failed; the previous code keeps serving/, 20_000, from);
    await fresh.answered(5);
    const freshResult = await fresh.stop();
    assert.equal(freshResult.failed, 0, freshResult.errors.join('; '));
    assert.equal((await get(server.url, { authorization: both[0]! })).status, 401);
    assert.equal((await get(server.url, { authorization: both[1]! })).status, 200);
  });

  it('an edited --auth-group-script or --host-access-script takes effect through a reload, as the user script does', async () => {
    const dir = await tempDir();
    const users = path.join(dir, 'users.ts');
    const groups = path.join(dir, 'groups.ts');
    const hosts = path.join(dir, 'hosts.ts');
    await writeFile(users, "export const checkPassword = (_e: unknown, user: string, pw: string) => user === 'u' && pw === 'pw';\n");
    const groupsSource = (list: string) => `export const groupsForUser = () => ${list};\n`;
    const hostsSource = (allow: boolean) => `export const allowAccess = () => ${allow};\n`;
    await writeFile(groups, groupsSource("['tsgi']"));
    await writeFile(hosts, hostsSource(true));
    const server = await startServer([
      fixture('auth/echo-app.ts'), '--processes', '2',
      '--auth-user-script', users, '--auth-group-script', groups, '--host-access-script', hosts,
    ]);
    const auth = { authorization: 'Basic ' + Buffer.from('u:pw').toString('base64') };
    assert.equal((await get(server.url, auth)).status, 200);

    let from = server.output().length;
    await writeFile(groups, groupsSource('[]'));
    await server.waitFor(/Reload complete/, 30_000, from);
    assert.equal((await get(server.url, auth)).status, 401, 'u is no longer in the group');

    from = server.output().length;
    await writeFile(groups, groupsSource("['tsgi']"));
    await server.waitFor(/Reload complete/, 30_000, from);
    assert.equal((await get(server.url, auth)).status, 200);

    from = server.output().length;
    await writeFile(hosts, hostsSource(false));
    await server.waitFor(/Reload complete/, 30_000, from);
    assert.equal((await get(server.url, auth)).status, 403, 'the host script now refuses everyone');
  });

  it('a password file changed under load: requests with the kept user never fail', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'htpasswd');
    await writeFile(file, htpasswdLine('B', 'kept', 'pw') + '\n');
    const server = await startServer([fixture('auth/echo-app.ts'), '--auth-user-file', file, '--processes', '2']);
    const load = new Load(server.url, { loops: 3, keepAlive: true, maxMs: 30_000, headers: { authorization: 'Basic ' + Buffer.from('kept:pw').toString('base64') } });
    for (let i = 0; i < 3; i++) {
      await load.answered(3);
      const from = server.output().length;
      await writeFile(file, (await readFile(file, 'utf8')) + htpasswdLine('s', `u${i}`, 'pw') + '\n');
      await server.waitFor(/re-read/, 10_000, from);
    }
    await load.answered(3);
    const result = await load.stop();
    assert.equal(result.failed, 0, result.errors.join('; '));
    assert.equal((await curlStatus(['-u', 'u2:pw', server.url])).status, 200);
  });
});
