// The user reaches Express, Koa and Hono apps as docs/frameworks.md shows (the
// examples run here as written), and the fail2ban filter of docs/authentication.md
// (templates/fail2ban/tsgi-express.conf) matches failed logins in a real error log.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { killAll, ROOT, startServer } from '../helpers/server.js';

const run = promisify(execFile);
const dirs: string[] = [];
after(async () => {
  killAll();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function curl(args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await run('curl', ['-s', '-w', '\n%{http_code}', ...args]);
  const nl = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(nl + 1)), body: stdout.slice(0, nl) };
}

describe('authenticated users in framework apps (docs/frameworks.md)', { timeout: 90_000 }, () => {
  const users = ['--auth-user-script', 'examples/auth-users.ts'];

  it('Express: req.remoteUser and req.authType under --auth-location, nothing elsewhere', async () => {
    const server = await startServer(['examples/auth-express.ts', ...users, '--auth-location', '/admin']);
    assert.deepEqual(JSON.parse((await curl([server.url])).body), { page: 'public', user: null });
    assert.equal((await curl([`${server.url}admin`])).status, 401);
    const admin = await curl(['-u', 'spy:secret', `${server.url}admin`]);
    assert.deepEqual(JSON.parse(admin.body), { page: 'admin', user: 'grumpy', via: 'Basic' });
  });

  it('Koa: ctx.req.remoteUser', async () => {
    const server = await startServer(['examples/auth-koa.ts', ...users]);
    assert.equal((await curl([server.url])).status, 401);
    assert.deepEqual(JSON.parse((await curl(['-u', 'admin:change me', server.url])).body), { user: 'admin', via: 'Basic' });
  });

  it('Hono (fetch): c.env.REMOTE_USER and c.env.AUTH_TYPE', async () => {
    const server = await startServer(['examples/auth-hono.ts', ...users]);
    assert.equal((await curl(['-u', 'spy:wrong', server.url])).status, 401);
    assert.deepEqual(JSON.parse((await curl(['-u', 'spy:secret', server.url])).body), { user: 'grumpy', via: 'Basic' });
  });
});

describe('the fail2ban filter', { timeout: 60_000 }, () => {
  it('fail2ban-regex finds each failed login, with the client address, and nothing else', async () => {
    const server = await startServer(['examples/auth-hono.ts', '--auth-user-script', 'examples/auth-users.ts']);
    for (const user of ['spy', 'nobody', 'x"] [client 10.9.9.9] y']) {
      assert.equal((await curl(['-u', `${user}:bad`, server.url])).status, 401);
    }
    assert.equal((await curl(['-u', 'spy:secret', server.url])).status, 200);
    await server.waitFor(/user "x\\"\] \[client 10\.9\.9\.9\] y": authentication failure/);
    const dir = await mkdtemp(path.join(tmpdir(), 'tsgi-f2b-'));
    dirs.push(dir);
    const log = path.join(dir, 'error.log');
    await writeFile(log, server.output());
    const filter = path.join(ROOT, 'templates/fail2ban/tsgi-express.conf');
    const { stdout } = await run('fail2ban-regex', ['-v', log, filter]);
    assert.match(stdout, /Failregex: 3 total/);
    assert.match(stdout, /Lines: \d+ lines, 0 ignored, 3 matched/);
    const hosts = [...stdout.matchAll(/^\|\s+(\S+)\s+\w{3} \w{3} \d+ [\d:]+ \d{4}$/gm)].map((m) => m[1]);
    assert.deepEqual(hosts, ['127.0.0.1', '127.0.0.1', '127.0.0.1']);
  });

  it('docs/authentication.md shows the filter as shipped', async () => {
    const doc = await readFile(path.join(ROOT, 'docs/authentication.md'), 'utf8');
    const shipped = await readFile(path.join(ROOT, 'templates/fail2ban/tsgi-express.conf'), 'utf8');
    assert.ok(doc.includes(shipped.slice(shipped.indexOf('[Definition]'))), 'the filter in the guide differs from templates/fail2ban/tsgi-express.conf');
  });
});

/** The TypeScript block of docs/authentication.md that starts with `// NAME`. */
async function docScript(name: string): Promise<string> {
  const doc = await readFile(path.join(ROOT, 'docs/authentication.md'), 'utf8');
  const block = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).find((code) => code.startsWith(`// ${name}`));
  assert.ok(block, `docs/authentication.md has no ts block starting with // ${name}`);
  return block;
}

describe('the scripts docs/authentication.md shows', { timeout: 60_000 }, () => {
  it('auth.ts, groups.ts and hosts.ts work as the guide says', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tsgi-doc-auth-'));
    dirs.push(dir);
    for (const name of ['auth.ts', 'groups.ts', 'hosts.ts']) await writeFile(path.join(dir, name), await docScript(name));
    const server = await startServer([
      'examples/auth-hono.ts',
      '--auth-user-script', path.join(dir, 'auth.ts'),
      '--auth-group-script', path.join(dir, 'groups.ts'),
      '--auth-group', 'editors',
      '--host-access-script', path.join(dir, 'hosts.ts'),
    ]);
    // hosts.ts has no opinion about 127.0.0.1; auth.ts renames spy to grumpy; groups.ts puts grumpy in editors.
    assert.deepEqual(JSON.parse((await curl(['-u', 'spy:secret', server.url])).body), { user: 'grumpy', via: 'Basic' });
    assert.equal((await curl(['-u', 'spy:wrong', server.url])).status, 401);
    assert.equal((await curl(['-u', 'other:secret', server.url])).status, 401);
  });
});

describe('docs/frameworks.md', () => {
  it('shows the authentication examples as they are in examples/ (the apps the tests above run)', async () => {
    const doc = await readFile(path.join(ROOT, 'docs/frameworks.md'), 'utf8');
    const code = (text: string) => text.split('\n').filter((line) => !line.startsWith('//')).join('\n').trim();
    const blocks = [...doc.matchAll(/```ts\n\/\/ (examples\/auth-[a-z]+\.ts)\n([\s\S]*?)```/g)];
    assert.equal(blocks.length, 3);
    for (const [, file, body] of blocks) {
      assert.equal(code(body!), code(await readFile(path.join(ROOT, file!), 'utf8')), file);
    }
  });
});
