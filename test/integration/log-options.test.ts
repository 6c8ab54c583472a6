// Issue 19's options through the real CLI: bad input exits 2 naming the flag, the
// startup log, --log-format json, --error-log-format, --log-to-terminal.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { fixture, killAll, runCli, startServer, type RunningServer } from '../helpers/server.js';

const tempDirs: string[] = [];
after(async () => {
  killAll();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tsgi-logopt-'));
  tempDirs.push(dir);
  return dir;
}

async function get(url: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await request(url, { headers });
  await res.body.text();
  return res.statusCode;
}

async function stop(server: RunningServer): Promise<void> {
  server.signal('SIGTERM');
  assert.equal((await server.exited()).code, 0);
}

describe('log options: bad input', { timeout: 120_000 }, () => {
  const cases: [string, (dir: string) => string[], RegExp][] = [
    ['a log directory that cannot be created', (dir) => {
      writeFileSync(path.join(dir, 'file'), '');
      return ['--log-directory', path.join(dir, 'file', 'logs')];
    }, /^tsgi-express: error: --log-directory \S+: cannot be created \(ENOTDIR/],
    ['a log directory that is a file', (dir) => {
      writeFileSync(path.join(dir, 'file'), '');
      return ['--log-directory', path.join(dir, 'file')];
    }, /^tsgi-express: error: --log-directory \S+: (not a directory|cannot be created)/],
    ['a log file that cannot be written', (dir) => {
      mkdirSync(path.join(dir, 'logs'));
      mkdirSync(path.join(dir, 'logs', 'error_log'));
      return ['--log-directory', path.join(dir, 'logs')];
    }, /^tsgi-express: error: --log-directory \S+: error_log is not a file$/],
    ['a name with a /', () => ['--error-log-name', 'a/b'], /^tsgi-express: error: --error-log-name must be a file name, without a \//],
    ['--max-log-size 0', () => ['--rotate-logs', '--max-log-size', '0'], /^tsgi-express: error: --max-log-size must be more than 0 \(MiB\) \(got "0"\)$/],
    ['--max-log-size negative', () => ['--rotate-logs', '--max-log-size', '-1'], /^tsgi-express: error: --max-log-size must be more than 0/],
    ['an unknown --error-log-format directive', () => ['--error-log-format', '[%t] %Z %M'], /^tsgi-express: error: --error-log-format is not a usable ErrorLogFormat: %Z is not a directive/],
    ['--rotate-interval that does not parse', () => ['--rotate-logs', '--rotate-interval', 'hourly'], /^tsgi-express: error: --rotate-interval must be a number followed by s, m, h or d/],
    ['--rotate-interval that does not divide the hour', () => ['--rotate-logs', '--rotate-interval', '7m'], /^tsgi-express: error: --rotate-interval must divide 60 minutes/],
    ['--log-to-terminal with --log-directory', (dir) => ['--log-to-terminal', '--log-directory', dir], /^tsgi-express: error: --log-to-terminal and --log-directory cannot be combined/],
    ['--log-to-terminal with --rotate-logs', () => ['--log-to-terminal', '--rotate-logs'], /^tsgi-express: error: --log-to-terminal and --rotate-logs cannot be combined/],
    ['--max-log-files without --rotate-logs', () => ['--max-log-files', '3'], /^tsgi-express: error: --max-log-files applies to rotated logs: add --rotate-logs$/],
    ['--log-format json with --access-log-format', () => ['--log-format', 'json', '--access-log-format', 'combined'], /^tsgi-express: error: --log-format json and --access-log-format cannot be combined/],
    ['--log-format xml', () => ['--log-format', 'xml'], /^tsgi-express: error: --log-format must be one of: text, json/],
    ['the same name twice', () => ['--access-log-name', 'error_log'], /^tsgi-express: error: --error-log-name, --access-log-name and --startup-log-name must differ/],
  ];
  for (const [what, args, expected] of cases) {
    it(`${what}: one line naming the flag, exit 2`, async () => {
      const dir = await tempDir();
      const { code, output } = await runCli(['start-server', fixture('log-app.ts'), '--port', '0', ...args(dir)]);
      assert.equal(code, 2, output);
      const lines = output.trim().split('\n');
      assert.equal(lines.length, 1, output);
      assert.match(lines[0]!, expected);
    });
  }

  it('a read-only log directory', async (t) => {
    if (process.getuid?.() === 0) return t.skip('root writes anywhere; the read-only disk case is the tmpfs test');
    const dir = await tempDir();
    chmodSync(dir, 0o500);
    const { code, output } = await runCli(['start-server', fixture('log-app.ts'), '--port', '0', '--log-directory', path.join(dir)]);
    assert.equal(code, 2);
    assert.match(output, /--log-directory \S+: cannot be written \(EACCES/);
  });
});

describe('log options: a running server', { timeout: 120_000 }, () => {
  it('--log-to-terminal alone is the default', async () => {
    const server = await startServer([fixture('log-app.ts'), '--log-to-terminal', '--access-log']);
    assert.match(server.output(), /Error Log {10}: \/dev\/stderr \(info\)/);
    assert.match(server.output(), /Access Log {9}: \/dev\/stdout \(common\)/);
    assert.equal(await get(`${server.url}`), 200);
    await server.waitFor(/"GET \/ HTTP\/1\.1" 200 12/);
    await stop(server);
  });

  it('--rotate-logs without --log-directory: the files in the server root, rotated at 5 MiB', async () => {
    const root = path.join(await tempDir(), 'root');
    const server = await startServer([fixture('log-app.ts'), '--rotate-logs', '--access-log', '--server-root', root]);
    assert.match(server.output(), new RegExp(`Error Log {10}: ${root}/error_log \\(info\\)`));
    assert.match(server.output(), new RegExp(`Access Log {9}: ${root}/access_log \\(common\\)`));
    assert.match(server.output(), /Log Rotation {7}: at 5 MiB, all kept/);
    assert.equal(await get(`${server.url}`), 200);
    await stop(server);
    assert.match(readFileSync(path.join(root, 'access_log'), 'utf8'), /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/ HTTP\/1\.1" 200 12\n$/);
    assert.match(readFileSync(path.join(root, 'error_log'), 'utf8'), /SIGTERM received/);
  });

  it('--startup-log holds the start-up, and stops at Ready', async () => {
    const dir = await tempDir();
    const server = await startServer([fixture('log-app.ts'), '--log-directory', dir, '--startup-log', '--processes', '2']);
    assert.match(server.output(), new RegExp(`Startup Log {8}: ${dir}/startup_log`));
    const res = await request(`${server.url}print?n=1&tag=after-ready`);
    await res.body.text();
    await stop(server);
    const text = readFileSync(path.join(dir, 'startup_log'), 'utf8');
    assert.match(text, /\[tsgi:info\] \[pid \d+\] tsgi-express \S+ starting \(pid \d+\): \S+log-app\.ts, 2 process\(es\) \* 100 thread\(s\), listening on 127\.0\.0\.1:\d+; logs in /);
    assert.equal(text.match(/worker \d+ forked/g)?.length, 2);
    assert.equal(text.match(/worker \d+ running: loading the application/g)?.length, 2);
    assert.match(text, /Ready: 2 workers serving http:\/\/127\.0\.0\.1:\d+\//);
    assert.doesNotMatch(text, /after-ready/);
    assert.match(readFileSync(path.join(dir, 'error_log'), 'utf8'), /after-ready/);
  });

  it('--startup-log says why the app could not load (exit 3)', async () => {
    const dir = await tempDir();
    const { code } = await runCli(['start-server', fixture('throws-at-import.ts'), '--port', '0', '--host', '127.0.0.1', '--log-directory', dir, '--startup-log']);
    assert.equal(code, 3);
    const text = readFileSync(path.join(dir, 'startup_log'), 'utf8');
    assert.match(text, /starting/);
    assert.match(text, /the application could not be loaded/);
    assert.match(text, /this module refuses to load/);
  });

  it('--startup-log says the port could not be bound (exit 4)', async () => {
    const dir = await tempDir();
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const { code } = await runCli(['start-server', fixture('log-app.ts'), '--port', String(port), '--host', '127.0.0.1', '--log-directory', dir, '--startup-log']);
      assert.equal(code, 4);
      assert.match(readFileSync(path.join(dir, 'startup_log'), 'utf8'), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`));
    } finally {
      blocker.close();
    }
  });

  it('--log-format json: one object per line in both logs, with the documented fields', async () => {
    const dir = await tempDir();
    const server = await startServer([fixture('log-app.ts'), '--log-directory', dir, '--access-log', '--log-format', 'json']);
    assert.match(server.output(), new RegExp(`Access Log {9}: ${dir}/access_log \\(json\\)`));
    assert.equal(await get(`${server.url}print?n=1&tag=json-line&size=20`, { Referer: 'http://r.example/', 'User-Agent': 'tester' }), 200);
    await stop(server);
    const access = readFileSync(path.join(dir, 'access_log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(access.length, 1);
    const [a] = access;
    assert.deepEqual(Object.keys(a), ['time', 'remote_addr', 'method', 'path', 'query', 'protocol', 'status', 'bytes', 'duration_us', 'user', 'referer', 'user_agent', 'request_id', 'pid']);
    assert.match(a.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(a.remote_addr, '127.0.0.1');
    assert.equal(a.method, 'GET');
    assert.equal(a.path, '/print');
    assert.equal(a.query, 'n=1&tag=json-line&size=20');
    assert.equal(a.status, 200);
    assert.equal(a.bytes, 'printed 1'.length);
    assert.equal(typeof a.duration_us, 'number');
    assert.equal(a.user, null);
    assert.equal(a.referer, 'http://r.example/');
    assert.equal(a.user_agent, 'tester');
    const errors = readFileSync(path.join(dir, 'error_log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const printed = errors.find((e) => String(e.message).startsWith('json-line'));
    assert.ok(printed, JSON.stringify(errors));
    assert.deepEqual(Object.keys(printed), ['time', 'level', 'pid', 'source', 'request_id', 'message']);
    assert.equal(printed.level, 'stdout');
    assert.equal(printed.source, 'app');
    assert.equal(printed.request_id, a.request_id);
    const info = errors.find((e) => /SIGTERM received/.test(e.message));
    assert.equal(info.level, 'info');
    assert.equal(info.source, 'tsgi');
  });

  it('--log-format json: the access log\'s user is the authenticated one, remote_addr the client a trusted proxy names', async () => {
    const dir = await tempDir();
    const users = path.join(dir, 'users.htpasswd');
    writeFileSync(users, execFileSync('htpasswd', ['-nbB', 'alice', 's3cret'], { encoding: 'utf8' }));
    const logs = path.join(dir, 'logs');
    const server = await startServer([
      fixture('log-app.ts'), '--log-directory', logs, '--access-log', '--log-format', 'json',
      '--auth-user-file', users, '--trust-proxy-header', 'X-Forwarded-For', '--trust-proxy', '127.0.0.1',
    ]);
    const basic = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
    assert.equal(await get(`${server.url}`, { Authorization: basic, 'X-Forwarded-For': '203.0.113.5' }), 200);
    assert.equal(await get(`${server.url}`, { 'X-Forwarded-For': '203.0.113.6' }), 401);
    await stop(server);
    const access = readFileSync(path.join(logs, 'access_log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(access.map((a) => [a.remote_addr, a.user, a.status]), [['203.0.113.5', 'alice', 200], ['203.0.113.6', null, 401]]);
  });

  it('--error-log-format: Apache directives, fields left out when empty', async () => {
    const dir = await tempDir();
    const server = await startServer([
      fixture('log-app.ts'), '--log-directory', dir,
      '--error-log-format', '%{cu}t %-l pid=%P:tid=%T [client\\ %a] [%L] %7F %M',
    ]);
    assert.equal(await get(`${server.url}print?n=1&tag=formatted&size=20`), 200);
    await stop(server);
    const lines = readFileSync(path.join(dir, 'error_log'), 'utf8').trim().split('\n');
    const printed = lines.find((l) => l.includes('formatted'));
    // App output is at error level: %7F (debug and more verbose only) is left out.
    assert.match(printed!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} stdout pid=(\d+):tid=\1 \[client 127\.0\.0\.1:\d+\] \[[0-9a-z]+-[0-9a-z]+\] formatted \d+ 0 x*$/);
    // The master's own lines belong to no request: no client, no id.
    const master = lines.find((l) => l.includes('SIGTERM received'));
    assert.match(master!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} info pid=(\d+):tid=\1 SIGTERM received/);
  });

  it('%F: where the line was logged', async () => {
    const dir = await tempDir();
    const server = await startServer([fixture('log-app.ts'), '--log-directory', dir, '--error-log-format', '%F %M']);
    assert.equal(await get(`${server.url}print?n=1&tag=located&size=10`), 200);
    await stop(server);
    const text = readFileSync(path.join(dir, 'error_log'), 'utf8');
    // The console.log in the fixture, source-mapped to its .ts line.
    assert.match(text, /\S*log-app\.ts:26 located/);
  });
});
