// --auth-user-script, --auth-group-script and --host-access-script through the
// real CLI: every row of mod_wsgi's return-value tables (§2.4-§2.6), renamed
// users in REMOTE_USER and %u, the seed-002 group bypass, the scripts' cut-down
// environ, malformed Authorization headers, and --auth-location.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { request } from 'undici';
import { fixture, killAll, startServer, type RunningServer } from '../helpers/server.js';

after(killAll);

const run = promisify(execFile);
const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: { user: string | null; type: string | null; authorization: string | null; proxyAuthorization: string | null; pid: number; path: string } | undefined;
}

async function get(server: RunningServer, path: string, headers: Record<string, string> | string[] = {}): Promise<Answer> {
  const res = await request(new URL(path, server.url), { headers, reset: true, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const text = await res.body.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

/** Sends raw bytes on a fresh connection and returns the status line's code. */
function rawStatus(server: RunningServer, head: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1', () => socket.write(head));
    let data = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error('timed out')));
    socket.on('data', (d) => {
      data += d;
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m) {
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed without a status: ${JSON.stringify(data)}`)));
  });
}

describe('--auth-user-script, Basic', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([fixture('auth/echo-app.ts'), '--auth-user-script', fixture('auth/users.ts'), '--access-log', '--setenv', 'SECRET_SETTING', 'x']);
  });

  it('no credentials: 401 with a Basic challenge naming HOST:PORT and charset UTF-8', async () => {
    const a = await get(server, '/');
    assert.equal(a.status, 401);
    assert.equal(a.headers['www-authenticate'], `Basic realm="127.0.0.1:${server.port}", charset="UTF-8"`);
  });

  it('true: the user as given; a renamed user reaches REMOTE_USER, AUTH_TYPE and %u (curl --basic -u)', async () => {
    const yes = await get(server, '/x', { authorization: basic('yes', 'pw') });
    assert.equal(yes.status, 200);
    assert.equal(yes.json!.user, 'yes');
    assert.equal(yes.json!.type, 'Basic');
    const from = server.output().length;
    const { stdout } = await run('curl', ['-s', '--basic', '-u', 'spy:secret', `${server.url}renamed`]);
    assert.equal(JSON.parse(stdout).user, 'grumpy');
    await server.waitFor(/ - grumpy \[[^\]]+\] "GET \/renamed HTTP\/1\.1" 200 /, 5000, from);
  });

  it('HTTP_AUTHORIZATION reaches the app as sent (mod_wsgi-express passes it); Proxy-Authorization never does', async () => {
    const a = await get(server, '/', { authorization: basic('yes', 'pw'), 'proxy-authorization': 'Basic abc' });
    assert.equal(a.json!.authorization, basic('yes', 'pw'));
    assert.equal(a.json!.proxyAuthorization, null);
  });

  it('false, null and undefined: 401 with a fresh challenge, logged at warn with address and user, never the password', async () => {
    for (const user of ['no', 'nobody', 'undef', 'yes']) {
      const from = server.output().length;
      const a = await get(server, '/p', { authorization: basic(user, 'wrong-Pa55') });
      assert.equal(a.status, 401, user);
      assert.match(String(a.headers['www-authenticate']), /^Basic realm=/);
      const reason = user === 'nobody' || user === 'undef' ? 'user not found' : 'password mismatch';
      await server.waitFor(
        new RegExp(`\\[tsgi:warn\\] \\[pid \\d+\\] \\[rid [^\\]]+\\] \\[client 127\\.0\\.0\\.1:\\d+\\] user "${user}": authentication failure for "/p": ${reason}`),
        5000,
        from,
      );
      await server.waitFor(new RegExp(` - ${user} \\[[^\\]]+\\] "GET /p HTTP/1\\.1" 401 `), 5000, from);
    }
    assert.doesNotMatch(server.output(), /wrong-Pa55/);
  });

  it('a failed login answered after the client hung up still logs its address (fail2ban needs it)', async () => {
    // Two workers: connections handed over by node:cluster's round-robin, as in production.
    const server = await startServer([fixture('auth/echo-app.ts'), '--auth-user-script', fixture('auth/users.ts'), '--processes', '2']);
    const from = server.output().length;
    const auth = basic('slow-no', 'x');
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.write(`GET /gone HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\n\r\n`);
    // Hang up while the check runs (it takes 1 s), whatever the machine's load:
    // RST, as a client that gives up (wrk at its deadline) sends.
    await server.waitFor(/auth script: checking slow-no/, 10_000, from);
    socket.resetAndDestroy();
    await server.waitFor(/\[client 127\.0\.0\.1:\d+\] user "slow-no": authentication failure for "\/gone": password mismatch/, 5000, from);
  });

  it("'' and any other type: 500, logged with the rule broken", async () => {
    for (const [user, rule] of [['empty', /checkPassword returned an empty string/], ['one', /checkPassword must return true, false, null\/undefined or a user name \(a non-empty string\); it returned number 1/]] as const) {
      const from = server.output().length;
      assert.equal((await get(server, '/', { authorization: basic(user, 'pw') })).status, 500);
      await server.waitFor(new RegExp(`\\[tsgi:error\\].*${rule.source}`), 5000, from);
    }
  });

  it('a throw or a rejection: 500 with the source-mapped stack in the error log', async () => {
    let from = server.output().length;
    assert.equal((await get(server, '/', { authorization: basic('throws', 'pw') })).status, 500);
    await server.waitFor(/checkPassword threw: Error: checkPassword kaboom\n[^\n]*\] +at checkPassword \(.*users\.ts:\d+:\d+\)/, 5000, from);
    from = server.output().length;
    assert.equal((await get(server, '/', { authorization: basic('rejects', 'pw') })).status, 500);
    await server.waitFor(/checkPassword threw: Error: async kaboom\n[^\n]*\] +at checkPassword \(.*users\.ts:\d+:\d+\)/, 5000, from);
  });

  it('Promises: resolved true and a resolved name', async () => {
    assert.equal((await get(server, '/', { authorization: basic('async-yes', 'pw') })).json!.user, 'async-yes');
    assert.equal((await get(server, '/', { authorization: basic('async-yes', 'no') })).status, 401);
    assert.equal((await get(server, '/', { authorization: basic('async-rename', 'x') })).json!.user, 'renamed');
  });

  it("a password may hold ':'; UTF-8 credentials, and latin-1 ones as a fallback", async () => {
    assert.equal((await get(server, '/', { authorization: basic('colon', 'a:b:c') })).json!.user, 'colon');
    const { stdout } = await run('curl', ['-s', '-u', 'colon:a:b:c', server.url]);
    assert.equal(JSON.parse(stdout).user, 'colon');
    assert.equal((await get(server, '/', { authorization: basic('jürgen', 'grüß') })).json!.user, 'jürgen');
    const latin1 = 'Basic ' + Buffer.from('j\xfcrgen:gr\xfc\xdf', 'latin1').toString('base64');
    assert.equal((await get(server, '/', { authorization: latin1 })).json!.user, 'jürgen');
  });

  it("the script's environ is the cut-down one: no Authorization, no body, no --setenv", async () => {
    const user = (await get(server, '/x?q=1', { authorization: basic('env', 'pw'), 'x-custom': 'v', 'proxy-authorization': 'Basic z' })).json!.user!;
    const keys = user.slice('keys='.length).split(',');
    for (const key of ['HTTP_X_CUSTOM', 'HTTP_HOST', 'REMOTE_ADDR', 'REMOTE_PORT', 'REQUEST_METHOD', 'REQUEST_URI', 'QUERY_STRING', 'PATH_INFO', 'SCRIPT_NAME', 'SERVER_NAME', 'SERVER_PORT', 'SERVER_PROTOCOL', 'SERVER_SOFTWARE', 'tsgi.errors', 'tsgi.url_scheme']) {
      assert.ok(keys.includes(key), `${key} missing from ${keys.join(' ')}`);
    }
    for (const key of ['HTTP_AUTHORIZATION', 'HTTP_PROXY_AUTHORIZATION', 'tsgi.input', 'SECRET_SETTING', 'REMOTE_USER']) {
      assert.ok(!keys.includes(key), `${key} must not be in the script's environ`);
    }
    const from = server.output().length;
    assert.equal((await get(server, '/', { authorization: basic('errors', 'pw') })).status, 200);
    await server.waitFor(/\[tsgi:error\] \[pid \d+\] \[rid [^\]]+\] written by the auth script/, 5000, from);
  });

  it('malformed Authorization: 400 (bad base64, no colon, two headers), 401 (another scheme), never 500; the server keeps serving', async () => {
    assert.equal((await get(server, '/', { authorization: 'Basic !!!not-base64' })).status, 400);
    assert.equal((await get(server, '/', { authorization: 'Basic ' + Buffer.from('nocolon').toString('base64') })).status, 400);
    assert.equal((await get(server, '/', { authorization: 'Basic' })).status, 400);
    assert.equal((await get(server, '/', ['authorization', basic('yes', 'pw'), 'authorization', basic('no', 'x')])).status, 400);
    const bearer = await get(server, '/', { authorization: 'Bearer abc.def' });
    assert.equal(bearer.status, 401);
    assert.match(String(bearer.headers['www-authenticate']), /^Basic /);
    assert.equal((await get(server, '/', { authorization: 'Digest username="yes"' })).status, 401);
    const long = 'Basic ' + Buffer.from('yes:' + 'p'.repeat(5000)).toString('base64'); // within --limit-request-field-size
    assert.equal((await get(server, '/', { authorization: long })).status, 401);
    const tooLong = await rawStatus(server, `GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${'A'.repeat(20_000)}\r\n\r\n`);
    // Past --limit-request-field-size (8190 bytes), before authentication looks at it.
    assert.equal(tooLong, 431, `a header past the size limit: ${tooLong}`);
    assert.equal((await get(server, '/', { authorization: basic('yes', 'pw') })).status, 200);
  });
});

describe('--auth-group-script (the seed-002 bug: no combination lets a non-member in)', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([
      fixture('auth/echo-app.ts'),
      '--auth-user-script', fixture('auth/groups.ts'),
      '--auth-group-script', fixture('auth/groups.ts'),
    ]);
  });

  it('members get in, as the name the user check gave', async () => {
    assert.equal((await get(server, '/', { authorization: basic('member', 'pw') })).json!.user, 'member');
    assert.equal((await get(server, '/', { authorization: basic('async-member', 'pw') })).json!.user, 'async-member');
    assert.equal((await get(server, '/', { authorization: basic('spy', 'secret') })).json!.user, 'grumpy');
  });

  it('everyone else gets 401 with a challenge, broken answers are logged as errors', async () => {
    const denied = ['outsider', 'lonely', 'stringy', 'upper', 'thrower', 'rejecter', 'number', 'nullish', 'bad-item', 'async-outsider', 'nosuch'];
    for (const user of denied) {
      const a = await get(server, '/', { authorization: basic(user, 'pw') });
      assert.equal(a.status, 401, `${user} got ${a.status} ${a.text.slice(0, 80)}`);
      assert.match(String(a.headers['www-authenticate']), /^Basic /);
    }
    // spy2 authenticates and is renamed to outsider; the group check must see the new name.
    assert.equal((await get(server, '/', { authorization: basic('spy2', 'secret') })).status, 401);
    // mole is in the group under its own name, but checkPassword renamed it to outsider, which is not.
    assert.equal((await get(server, '/', { authorization: basic('mole', 'secret') })).status, 401);
    // A wrong password never reaches the group check, whatever the groups say.
    assert.equal((await get(server, '/', { authorization: basic('spy', 'wrong') })).status, 401);
    assert.equal((await get(server, '/', { authorization: basic('member', 'wrong') })).status, 401);
    await server.waitFor(/\[tsgi:warn\].*user "outsider": access to "\/" denied by --auth-group-script: not a member of group "tsgi"/);
    await server.waitFor(/\[tsgi:warn\].*user "lonely": .*not a member of any group/);
    await server.waitFor(/\[tsgi:error\].*user "thrower": .*groupsForUser threw: Error: groupsForUser kaboom\n[^\n]*\] +at groupsForUser \(.*groups\.ts:\d+/);
    await server.waitFor(/\[tsgi:error\].*user "stringy": .*must return an iterable of group names/);
    await server.waitFor(/\[tsgi:error\].*user "bad-item": .*not a string: number 7/);
  });
});

describe('--host-access-script', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([
      fixture('auth/echo-app.ts'),
      '--host-access-script', fixture('auth/host.ts'),
      '--auth-user-script', fixture('auth/users.ts'),
      '--auth-location', '/private',
    ]);
  });

  it('true and null/undefined go on (authentication still applies); false, another value or a throw: 403', async () => {
    const ok = basic('yes', 'pw');
    for (const access of ['true', 'null', 'undefined', 'async-true', 'host']) {
      assert.equal((await get(server, '/private', { 'x-access': access, authorization: ok })).status, 200, access);
      assert.equal((await get(server, '/private', { 'x-access': access })).status, 401, `${access} without credentials`);
      assert.equal((await get(server, '/open', { 'x-access': access })).status, 200, `${access} outside --auth-location`);
    }
    for (const access of ['false', 'one', 'string', 'throw', 'async-false']) {
      assert.equal((await get(server, '/private', { 'x-access': access, authorization: ok })).status, 403, access);
      assert.equal((await get(server, '/open', { 'x-access': access })).status, 403, `${access}: the host check is site-wide`);
    }
    await server.waitFor(/\[tsgi:warn\].*\[client 127\.0\.0\.1:\d+\] client denied by --host-access-script for "\/private"/);
    await server.waitFor(/\[tsgi:error\].*allowAccess must return true, false or null\/undefined; it returned number 1/);
    await server.waitFor(/\[tsgi:error\].*allowAccess threw: Error: allowAccess kaboom\n[^\n]*\] +at allowAccess \(.*host\.ts:\d+/);
  });
});

describe('--auth-location', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([
      fixture('auth/echo-app.ts'),
      '--auth-user-script', fixture('auth/users.ts'),
      '--auth-location', '/trac/login',
      '--auth-location', '/admin/',
    ]);
  });

  it('protects the prefixes on segment boundaries, after normalisation; other paths stay open', async () => {
    for (const path of ['/trac/login', '/trac/login/', '/trac/login/x', '/admin', '/admin/x', '/trac/x/../login', '//trac//login', '/trac/%6Cogin', '/trac/./login']) {
      assert.equal(await rawStatus(server, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`), 401, path);
    }
    for (const path of ['/', '/trac', '/trac/loginx', '/trac/Login', '/administrator', '/other/trac/login']) {
      const a = await get(server, path);
      assert.equal(a.status, 200, path);
      assert.equal(a.json!.user, null);
    }
    const a = await get(server, '/trac/login', { authorization: basic('yes', 'pw') });
    assert.equal(a.json!.user, 'yes');
  });
});
