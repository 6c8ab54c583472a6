// Options whose meaning follows mod_wsgi-express in details a first version got
// wrong, each through a real server: REMOTE_ADDR on the dual-stack default
// listener, repeated --setenv, --passenv (one name per flag, unset names),
// --startup-timeout 0, the default pid file, --disable-reloading winning over
// --reload-on-changes, --working-directory naming a file, REQUEST_URI in the
// node interface below a mount point, and repeated slashes in SCRIPT_NAME and
// PATH_INFO.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { fixture, killAll, runCli, startServer } from '../helpers/server.js';

let dir = '';
const ENV_APP = `
export function application(environ: Record<string, unknown>, startResponse: (s: string, h: [string, string][]) => unknown) {
  startResponse('200 OK', [['Content-Type', 'application/json']]);
  const keys = ['REMOTE_ADDR', 'GREETING', 'FROM_SHELL', 'NOT_SET_ANYWHERE'];
  return [JSON.stringify(Object.fromEntries(keys.map((k) => [k, environ[k] ?? null])))];
}
`;
const NODE_APP = `
export default (req: any, res: any) => {
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify({ requestUri: req.environ.REQUEST_URI, url: req.url, originalUrl: req.originalUrl }));
};
`;
const PATHS_APP = `
export function application(environ: Record<string, string>, startResponse: (s: string, h: [string, string][]) => unknown) {
  startResponse('200 OK', [['Content-Type', 'application/json']]);
  return [JSON.stringify({ script: environ.SCRIPT_NAME, path: environ.PATH_INFO, uri: environ.REQUEST_URI })];
}
`;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tsgi-parity-'));
  await writeFile(path.join(dir, 'env.ts'), ENV_APP);
  await writeFile(path.join(dir, 'node-app.ts'), NODE_APP);
  await writeFile(path.join(dir, 'paths.ts'), PATHS_APP);
  await writeFile(path.join(dir, 'package.json'), '{ "type": "module" }\n');
});
after(async () => {
  killAll();
  await rm(dir, { recursive: true, force: true });
});

async function json(url: string): Promise<Record<string, unknown>> {
  const res = await request(url);
  assert.equal(res.statusCode, 200);
  return (await res.body.json()) as Record<string, unknown>;
}

describe('the environ, as mod_wsgi builds it', { timeout: 60_000 }, () => {
  it('REMOTE_ADDR and %h of an IPv4 client on the default listener are the plain IPv4 address', async () => {
    // No --host: Node listens on '::' and reports IPv4 peers as ::ffff:127.0.0.1.
    const server = await startServer([path.join(dir, 'env.ts'), '--access-log'], { host: null });
    const env = await json(`http://127.0.0.1:${server.port}/`);
    assert.equal(env.REMOTE_ADDR, '127.0.0.1');
    await server.waitFor(/^127\.0\.0\.1 - - \[/m);
    assert.doesNotMatch(server.output(), /::ffff:/);
  });

  it('the last --setenv wins; --passenv takes one name per flag and warns about an unset one', async () => {
    const server = await startServer(
      ['--setenv', 'GREETING', 'first', '--setenv', 'GREETING', 'second',
        '--passenv', 'FROM_SHELL', '--passenv', 'NOT_SET_ANYWHERE', path.join(dir, 'env.ts')],
      { env: { FROM_SHELL: 'shell value', NOT_SET_ANYWHERE: undefined } },
    );
    const env = await json(server.url);
    assert.equal(env.GREETING, 'second');
    assert.equal(env.FROM_SHELL, 'shell value');
    assert.equal(env.NOT_SET_ANYWHERE, null);
    assert.match(server.output(), /\[tsgi:warn\].*--passenv NOT_SET_ANYWHERE: not set in the server's environment/);
    assert.doesNotMatch(server.output(), /--passenv FROM_SHELL/);
  });

  it('repeated slashes are merged in SCRIPT_NAME and PATH_INFO, not in REQUEST_URI or %2F%2F', async () => {
    const server = await startServer([path.join(dir, 'paths.ts'), '--mount-point', '/app']);
    const seen = await json(`${server.url.replace(/\/$/, '')}//app//x///y?q=1`);
    assert.deepEqual(seen, { script: '/app', path: '/x/y', uri: '//app//x///y?q=1' });
    const encoded = await json(`${server.url}app/a%2F%2Fb`);
    assert.equal(encoded.path, '/a//b');
  });

  it('the node interface gets the raw target as REQUEST_URI below a mount point', async () => {
    const server = await startServer([path.join(dir, 'node-app.ts'), '--interface', 'node', '--mount-point', '/api']);
    const seen = await json(`${server.url}api/a%2Fb/c?q=1`);
    assert.deepEqual(seen, { requestUri: '/api/a%2Fb/c?q=1', url: '/a%2Fb/c?q=1', originalUrl: '/api/a%2Fb/c?q=1' });
    // A repeated slash before the mount point still reaches the app, below it as /x.
    const doubled = await json(`${server.url.replace(/\/$/, '')}//api/x`);
    assert.equal(doubled.url, '/x');
  });
});

describe('start-up and files, as mod_wsgi-express', { timeout: 60_000 }, () => {
  it('--startup-timeout 0 means no limit, not an immediate timeout', async () => {
    const server = await startServer([path.join(dir, 'env.ts'), '--startup-timeout', '0']);
    assert.equal((await request(server.url)).statusCode, 200);
  });

  it('writes SERVER_ROOT/tsgi-express.pid by default and removes it on a graceful stop', async () => {
    const root = path.join(dir, 'root');
    const server = await startServer([path.join(dir, 'env.ts'), '--server-root', root]);
    const pidFile = path.join(root, 'tsgi-express.pid');
    assert.equal(readFileSync(pidFile, 'utf8').trim(), String(server.pid));
    assert.match(server.output(), new RegExp(`PID File {11}: ${pidFile}`));
    server.signal('SIGTERM');
    assert.equal((await server.exited()).code, 0);
    assert.equal(existsSync(pidFile), false, 'pid file left behind');
    assert.equal(existsSync(root), false, 'the server root it created, now empty, left behind');
  });

  it('keeps a server root that existed before it, and removes one it made when start-up fails', async () => {
    const kept = path.join(dir, 'kept-root');
    mkdirSync(kept);
    const server = await startServer([path.join(dir, 'env.ts'), '--server-root', kept]);
    server.signal('SIGTERM');
    assert.equal((await server.exited()).code, 0);
    assert.ok(existsSync(kept), 'a root the user made must stay');
    const made = path.join(dir, 'failed-root');
    const { code } = await runCli(['start-server', fixture('throws-at-import.ts'), '--server-root', made, '--port', '0', '--host', '127.0.0.1']);
    assert.notEqual(code, 0);
    assert.equal(existsSync(made), false, 'a failed start left its server root behind');
  });

  it('--disable-reloading wins over --reload-on-changes: a saved change is not loaded', async () => {
    const version = (v: string) => `export function application(e: unknown, sr: (s: string, h: [string, string][]) => unknown) {\n` +
      `  sr('200 OK', [['Content-Type', 'text/plain']]);\n  return ['${v}'];\n}\n`;
    const frozen = path.join(dir, 'frozen.ts');
    const watched = path.join(dir, 'watched.ts');
    await writeFile(frozen, version('v1'));
    await writeFile(watched, version('v1'));
    const off = await startServer([frozen, '--reload-on-changes', '--disable-reloading']);
    const on = await startServer([watched, '--reload-on-changes']);
    assert.match(off.output(), /Reloading {10}: off/);
    await writeFile(frozen, version('v2'));
    await writeFile(watched, version('v2'));
    // The control server shows a reload had time to happen; the other must not have had one.
    await on.waitFor(/Reload complete/);
    assert.equal(await request(on.url).then((r) => r.body.text()), 'v2');
    assert.equal(await request(off.url).then((r) => r.body.text()), 'v1');
    assert.doesNotMatch(off.output(), /Reloading \(/); // the log line of a reload, not the banner's row
  });

  it('--host 0.0.0.0 names the server by that address, as mod_wsgi-express', async () => {
    const server = await startServer([path.join(dir, 'env.ts')], { host: '0.0.0.0' });
    assert.match(server.output(), new RegExp(`Server URL {9}: http://0\\.0\\.0\\.0:${server.port}/`));
    assert.match(server.output(), new RegExp(`Server Root {8}: \\S*tsgi-express-0\\.0\\.0\\.0:${server.port}:`));
    assert.equal((await request(`http://127.0.0.1:${server.port}/`)).statusCode, 200);
  });

  it('--working-directory naming a file is a usage error before anything starts', async () => {
    const file = path.join(dir, 'env.ts');
    const { code, output } = await runCli(['start-server', file, '--working-directory', file, '--port', '0']);
    assert.equal(code, 2);
    assert.match(output, /^tsgi-express: error: --working-directory .*env\.ts: not a directory$/m);
  });
});
