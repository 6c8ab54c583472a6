// Several applications in one server (--mount-app, a config file's `apps`): the most
// specific mount wins, each app sees its own mount and its own setenv, bodies stream
// both ways, a change to any app's script reloads, and bad declarations exit 2.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import WebSocket from 'ws';
import { fixture, killAll, ROOT, runCli, startServer, type RunningServer } from '../helpers/server.js';

after(killAll);

/** Each mounted app starts its own group of workers: on a loaded machine that takes its time. */
const READY = { readyTimeoutMs: 90_000 };
const SLOW_START = ['--startup-timeout', '90'];

async function json(url: string, fresh = false): Promise<Record<string, unknown>> {
  // fresh: a new connection, so a kept-alive one to a draining old worker cannot answer.
  const res = await request(url, fresh ? { reset: true } : {});
  const text = await res.body.text();
  assert.equal(res.statusCode, 200, `${url}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

describe('three apps from a config file: TSGI at /, fetch at /api, Express at /api/admin', () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startServer(['--config', fixture('apps/three.yaml'), ...SLOW_START], READY);
    base = server.url.replace(/\/$/, '');
  });

  it('the banner lists every app with its mount and interface', () => {
    const out = server.output();
    assert.match(out, /Application {8}: \S+app\.ts \(tsgi\)/);
    assert.match(out, /Application {8}: \/api -> \S+fetch-app\.ts \(fetch; process group \/api: 100 \(1 process \* 100 threads\)\)/);
    assert.match(out, /Application {8}: \/api\/admin -> \S+express-app\.ts \(node; process group \/api\/admin: 100 \(1 process \* 100 threads\)\)/);
    assert.match(out, /Request Capacity {3}: 200 \(2 processes \* 100 threads\) for the main application's process group/);
    assert.match(out, /Ready: 2 workers/);
  });

  it('the most specific mount wins, on whole path segments', async () => {
    const main = await json(`${base}/environ`);
    assert.equal(main.SCRIPT_NAME, '');
    assert.equal(main.PATH_INFO, '/environ');
    const api = await json(`${base}/api/items?q=1`);
    assert.deepEqual([api.app, api.scriptName, api.pathInfo, api.url], ['fetch', '/api', '/items', `${base}/api/items?q=1`]);
    assert.equal((await json(`${base}/api`)).pathInfo, '');
    const admin = await json(`${base}/api/admin/users?x=2`);
    assert.deepEqual([admin.app, admin.scriptName, admin.baseUrl, admin.url, admin.originalUrl], ['express', '/api/admin', '/api/admin', '/users?x=2', '/api/admin/users?x=2']);
    const near = await json(`${base}/api/administrator`);
    assert.deepEqual([near.app, near.pathInfo], ['fetch', '/administrator']);
    const tsgi = await json(`${base}/tsgi/x`);
    assert.deepEqual([tsgi.app, tsgi.scriptName, tsgi.pathInfo], ['tsgi', '/tsgi', '/x']);
  });

  it('each app sees its own setenv, over the server-wide one', async () => {
    assert.deepEqual([(await json(`${base}/api/`)).stage, (await json(`${base}/api/`)).shared], ['api', 'for every app']);
    const admin = await json(`${base}/api/admin/`);
    assert.deepEqual([admin.stage, admin.shared], ['admin', 'for every app']);
    const main = await json(`${base}/environ`);
    assert.equal(main.STAGE, undefined);
    assert.equal(main.SHARED, 'for every app');
    assert.equal((await json(`${base}/tsgi/`)).stage, null);
  });

  it('a 1 MiB chunked upload reaches a mounted app whole; a streamed response arrives in pieces', async () => {
    const data = randomBytes(1024 * 1024);
    const body = Readable.from((function* () {
      for (let i = 0; i < data.length; i += 64 * 1024) yield data.subarray(i, i + 64 * 1024);
    })());
    const res = await request(`${base}/tsgi/upload`, { method: 'POST', body });
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers['x-app'], 'tsgi');
    assert.equal(await res.body.text(), `${data.length} ${createHash('sha256').update(data).digest('hex')}`);
    const sse = await request(`${base}/api/stream`);
    assert.equal(sse.headers['content-type'], 'text/event-stream');
    const chunks: string[] = [];
    for await (const chunk of sse.body) chunks.push(chunk.toString());
    assert.equal(chunks.join(''), 'data: 0\n\ndata: 1\n\ndata: 2\n\n');
  });

  it('a path under no mount gets 404 when the main app is not at /', async () => {
    const other = await startServer([fixture('app.ts'), '--mount-point', '/main', '--mount-app', '/api', fixture('apps/fetch-app.ts'), ...SLOW_START], READY);
    assert.equal((await request(`${other.url}elsewhere`)).statusCode, 404);
    assert.equal((await json(`${other.url}api/x`)).app, 'fetch');
    assert.equal((await json(`${other.url}main/environ`)).SCRIPT_NAME, '/main');
  });
});

describe('--mount-app on the command line', () => {
  it('a change to a mounted app\'s script reloads the workers', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mount-apps-'));
    try {
      cpSync(fixture('apps/tsgi-app.ts'), path.join(dir, 'tsgi-app.ts'));
      cpSync(fixture('config/hello.ts'), path.join(dir, 'main.ts'));
      const server = await startServer([path.join(dir, 'main.ts'), '--mount-app', '/t', path.join(dir, 'tsgi-app.ts'), ...SLOW_START], READY);
      assert.equal((await json(`${server.url}t/`)).app, 'tsgi');
      const source = readFileSync(path.join(dir, 'tsgi-app.ts'), 'utf8').replace("app: 'tsgi'", "app: 'tsgi, edited'");
      const from = server.output().length;
      writeFileSync(path.join(dir, 'tsgi-app.ts'), source);
      await server.waitFor(/Reload complete/, 20_000, from);
      // The old worker may take a last connection while it closes its listener: ask until the new one answers.
      let seen = '';
      for (let i = 0; i < 50 && seen !== 'tsgi, edited'; i++) {
        seen = String((await json(`${server.url}t/`, true)).app);
        if (seen !== 'tsgi, edited') await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(seen, 'tsgi, edited');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a WebSocket upgrade reaches the mounted app it is addressed to; the main app still answers beside it', async () => {
    const server = await startServer([fixture('app.ts'), '--mount-app', '/live', fixture('eco/fetch-ws.ts'), ...SLOW_START], READY);
    assert.equal((await request(`${server.url}live/page`).then((r) => r.body.text())), 'plain /live/page');
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}live/ws?user=ann`);
    try {
      const [hello] = (await once(ws, 'message')) as [Buffer];
      assert.match(hello.toString(), /^hello ann \d+$/);
      ws.send('abc');
      const [echo] = (await once(ws, 'message')) as [Buffer];
      assert.equal(echo.toString(), 'text abc');
    } finally {
      ws.close();
    }
    assert.equal((await json(`${server.url}environ`)).SCRIPT_NAME, '');
  });

  it('debug mode loads every app in its one process, and says so', async () => {
    const server = await startServer([fixture('app.ts'), '--debug-mode', '--mount-app', '/api', fixture('apps/fetch-app.ts')]);
    assert.match(server.output(), /Application {8}: \/api -> \S+fetch-app\.ts \(fetch; in the one debug process, its own module\)/);
    const api = await json(`${server.url}api/x`);
    const main = await json(`${server.url}environ`);
    assert.equal(api.app, 'fetch');
    assert.equal(api.pid, main['tsgi_express.process_id']);
  });

  const bad: [string[], RegExp][] = [
    [['--mount-app', 'api', fixture('apps/fetch-app.ts')], /--mount-app api: the mount must be a URL path starting with \/ \(got "api"\)$/],
    [['--mount-app', '/', fixture('apps/fetch-app.ts')], /--mount-app \/: \/ is already the mount of the main application \(--mount-point\)/],
    [['--mount-app', '/a', fixture('apps/missing.ts')], /--mount-app \/a: application script \S+missing\.ts: no such file$/],
    [['--config', fixture('apps/same-mount.yaml')], /same-mount\.yaml: apps\[1\]: \/api is already the mount of \S+same-mount\.yaml: apps\[0\]/],
    [['--config', fixture('apps/group-conflict.yaml')], /group-conflict\.yaml: apps\[1\]: processes 3 conflicts with \S+group-conflict\.yaml: apps\[0\]'s 2 for group "shop"; give it once/],
    [['--config', fixture('apps/main-group-threads.yaml')], /main-group-threads\.yaml: apps\[0\]: threads: the main application's group \(group: main\) is sized by the top-level options; give threads there$/],
    [['--config', fixture('apps/bad-group-name.yaml')], /bad-group-name\.yaml: apps\[0\]: group: group must be a name of letters, digits/],
    [['--config', fixture('apps/app-unknown-key.yaml')], /app-unknown-key\.yaml: apps\[0\]: unknown key "intreface" \(did you mean "interface"\?\)$/],
    [['--config', fixture('apps/app-no-script.yaml')], /app-no-script\.yaml: apps\[0\]: script: application script \S+missing\.ts: no such file$/],
  ];
  for (const [args, expected] of bad) {
    it(`rejects ${args.map((a) => path.basename(a)).join(' ')} with exit 2`, async () => {
      const { code, output } = await runCli(['start-server', ...(args[0] === '--config' ? [] : [fixture('app.ts')]), ...args, '--port', '0']);
      assert.equal(code, 2, output);
      assert.match(output.trim().split('\n')[0]!, expected);
    });
  }
});

describe('docs/applications.md: the several-apps example as the guide shows it', () => {
  it('examples/apps/site.yaml serves each app at its mount with its own environ', async () => {
    const file = path.join(ROOT, 'examples/apps/site.yaml');
    const guide = readFileSync(path.join(ROOT, 'docs/applications.md'), 'utf8');
    assert.ok(guide.includes(`<!-- file: examples/apps/site.yaml -->\n\`\`\`yaml\n${readFileSync(file, 'utf8')}\`\`\``), 'the guide does not show site.yaml as it is');
    const server = await startServer(['--config', file, ...SLOW_START], READY);
    const text = async (p: string) => {
      const res = await request(server.url + p);
      assert.equal(res.statusCode, 200, p);
      return res.body.text();
    };
    assert.equal(await text(''), 'Hello world!');
    assert.deepEqual(JSON.parse(await text('api/x')).mountedAt, '/api');
    assert.match(await text('api/admin/'), /^Hello from Express! Mounted at \/api\/admin, you asked for \/api\/admin\/$/);
    const env = await text('env/');
    assert.match(env, /<th>SITE<\/th><td><code>&#34;example\.org&#34;/);
    assert.doesNotMatch(env, /API_STAGE/);
    assert.match(env, /<th>SCRIPT_NAME<\/th><td><code>&#34;\/env&#34;/);
  });
});
