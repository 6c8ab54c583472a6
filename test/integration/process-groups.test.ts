// Process groups (mod_wsgi's daemon process groups): each mounted app in its own workers by
// default, reached from the front over its group's unix socket. Isolation (process.env,
// globals), faults that stay in their group (a crash, a broken reload) under load, a shared
// group, per-app setenv, the hop's streaming both ways, its exact status and headers, a client
// disconnect reaching the app, and the graceful stop.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { fixture, killAll, ROOT, startServer, type RunningServer } from '../helpers/server.js';
import { Load } from '../helpers/load.js';

after(killAll);

/** Several groups start several workers at once: on a loaded machine that takes its time. */
const READY = { readyTimeoutMs: 90_000 };
const SLOW_START = ['--startup-timeout', '90'];

const SITE = fixture('groups/site-app.ts');

type Seen = Record<string, unknown>;

async function get(url: string): Promise<Seen> {
  // A new connection each time: a kept-alive one stays with one front worker.
  const res = await request(url, { reset: true });
  const text = await res.body.text();
  assert.equal(res.statusCode, 200, `${url}: ${text}`);
  return JSON.parse(text) as Seen;
}

/** The pids that answer `url` over `n` requests. */
async function pidsOf(url: string, n = 6): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let i = 0; i < n; i++) pids.add((await get(url)).pid as number);
  return pids;
}

/** The master's worker processes, every group's. */
function workerPids(masterPid: number): Set<number> {
  return new Set(execFileSync('pgrep', ['-P', String(masterPid)], { encoding: 'utf8' }).trim().split('\n').map(Number));
}

function disjoint(a: Set<number>, b: Set<number>): boolean {
  return [...a].every((x) => !b.has(x));
}

/** A raw HTTP/1.1 exchange: the response exactly as the front sent it. */
function rawExchange(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head));
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (data += d));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    setTimeout(() => {
      socket.destroy();
      resolve(data);
    }, 5000).unref();
  });
}

describe('three copies of one app at nested mounts, each in its own group (--mount-app)', () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startServer([SITE, '--processes', '1', '--mount-app', '/a', SITE, '--mount-app', '/a/b', SITE, '--access-log', ...SLOW_START], READY);
    base = server.url.replace(/\/$/, '');
  });

  it('the banner lists each app with its group and capacity; each group has its own workers', async () => {
    const out = server.output();
    assert.match(out, /Application {8}: \/a -> \S+site-app\.ts \(tsgi; process group \/a: 100 \(1 process \* 100 threads\)\)/);
    assert.match(out, /Application {8}: \/a\/b -> \S+site-app\.ts \(tsgi; process group \/a\/b: 100 \(1 process \* 100 threads\)\)/);
    const [main, a, b] = [await pidsOf(`${base}/`), await pidsOf(`${base}/a/`), await pidsOf(`${base}/a/b/`)];
    assert.ok(disjoint(main, a) && disjoint(a, b) && disjoint(main, b), `${[...main]} ${[...a]} ${[...b]}`);
  });

  it("the front decides once: each app sees its mount, the client and the front's port; the front's access log has the request", async () => {
    const seen = await get(`${base}/a/b/x/y?q=1`);
    assert.deepEqual([seen.scriptName, seen.pathInfo, seen.remoteAddr, seen.serverPort, seen.scheme], ['/a/b', '/x/y', '127.0.0.1', String(server.port), 'http']);
    assert.equal(seen.multiprocess, true); // --processes given: every group's too
    const near = await get(`${base}/a/bx`);
    assert.deepEqual([near.scriptName, near.pathInfo], ['/a', '/bx']);
    await server.waitFor(new RegExp(`"GET /a/b/x/y\\?q=1 HTTP/1.1" 200`));
  });

  it('a client cannot pass itself off as the front: a hop header it sends is replaced', async () => {
    const forged = encodeURIComponent(JSON.stringify({ id: 'forged', app: 0, scriptName: '/evil', pathInfo: '/x', queryString: '', listener: { scheme: 'https', port: 1 }, forwarded: { remoteAddr: '203.0.113.9' }, remoteUser: 'admin' }));
    const res = await request(`${base}/a/b/who`, { reset: true, headers: { 'x-tsgi-express-hop': forged } });
    const seen = JSON.parse(await res.body.text()) as Seen;
    assert.deepEqual([seen.scriptName, seen.pathInfo, seen.remoteAddr, seen.scheme, seen.serverPort], ['/a/b', '/who', '127.0.0.1', 'http', String(server.port)]);
    assert.notEqual(seen.requestId, 'forged');
  });

  it('process.env and globals changed in one group are not seen in another', async () => {
    const set = await get(`${base}/a/set?GROUPS_TEST=from-a`);
    assert.equal(set.set, 'GROUPS_TEST=from-a');
    const a = await get(`${base}/a/?name=GROUPS_TEST`);
    assert.deepEqual([a.env, a.marker], ['from-a', 'GROUPS_TEST=from-a']);
    for (const other of [`${base}/a/b/?name=GROUPS_TEST`, `${base}/?name=GROUPS_TEST`]) {
      const seen = await get(other);
      assert.deepEqual([seen.env, seen.marker], [null, null], other);
    }
  });

  it('the status line, reason and headers cross the hop as the app gave them', async () => {
    const text = await rawExchange(server.port, 'GET /a/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(text, /^HTTP\/1\.1 299 Custom Reason\r\n/);
    assert.match(text, /\r\nX-MiXed-Case: kept\r\n/);
    assert.match(text, /\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n/);
    assert.match(text, /\r\n\r\ncustom$/);
    assert.doesNotMatch(text, /x-tsgi-express-hop/i);
  });

  it('1 MiB uploads, chunked and with a length, reach the group whole', async () => {
    const data = randomBytes(1024 * 1024);
    const expected = `${data.length} ${createHash('sha256').update(data).digest('hex')}`;
    const chunked = Readable.from((function* () {
      for (let i = 0; i < data.length; i += 64 * 1024) yield data.subarray(i, i + 64 * 1024);
    })());
    const one = await request(`${base}/a/b/upload`, { method: 'POST', body: chunked });
    assert.equal(one.statusCode, 201);
    assert.equal(await one.body.text(), expected);
    const two = await request(`${base}/a/upload`, { method: 'POST', body: data, headers: { 'content-length': String(data.length) } });
    assert.equal(two.statusCode, 201);
    assert.equal(await two.body.text(), expected);
  });

  it('server-sent events flow as they are made; a client that leaves is seen by the app in its group', async () => {
    const from = server.output().length;
    const res = await request(`${base}/a/b/events`);
    assert.equal(res.headers['content-type'], 'text/event-stream');
    let text = '';
    for await (const chunk of res.body) {
      text += chunk.toString();
      if (text.includes('data: 2\n\n')) break; // each event came on its own, 50 ms apart
    }
    res.body.destroy();
    const [line] = await server.waitFor(/events at \/a\/b: client left after (\d+)/, 10_000, from);
    const sent = Number(/after (\d+)/.exec(line)![1]);
    assert.ok(sent >= 3 && sent < 200, line);
  });

  it('a crash in one group leaves the others serving under load with zero failures; the group comes back', async () => {
    const before = await pidsOf(`${base}/a/b/`, 2);
    const loads = [new Load(`${base}/a/`, { loops: 3, keepAlive: true, maxMs: 20_000 }), new Load(`${base}/`, { loops: 2, keepAlive: false, maxMs: 20_000 })];
    const from = server.output().length;
    const crash = await request(`${base}/a/b/crash`, { reset: true });
    assert.equal(crash.statusCode, 202);
    await crash.body.text();
    await server.waitFor(/process group \/a\/b: worker \d+ died/, 15_000, from);
    // The group's socket stays with the master: a request now waits for the replacement.
    const after = await get(`${base}/a/b/`);
    assert.ok(!before.has(after.pid as number));
    const results = await Promise.all(loads.map((l) => l.stop()));
    for (const r of results) {
      assert.equal(r.failed, 0, r.errors.join('\n'));
      assert.ok(r.ok > 0);
    }
  });
});

describe('a config file: a shared group, per-app setenv and sizes, a broken reload, the graceful stop', () => {
  let server: RunningServer;
  let base: string;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'process-groups-'));
    for (const name of ['main.ts', 'shop.ts', 'solo.ts']) cpSync(SITE, path.join(dir, name));
    writeFileSync(path.join(dir, 'site.yaml'), [
      'script: main.ts',
      'startup-timeout: 90',
      'setenv: { SHARED: everyone }',
      'apps:',
      '  - { mount: /shop, script: shop.ts, group: shop, processes: 2, threads: 4, setenv: { STAGE: shop } }',
      `  - { mount: /shop/api, script: ${fixture('apps/fetch-app.ts')}, group: shop, setenv: { STAGE: shop-api } }`,
      '  - { mount: /solo, script: solo.ts, processes: 1, working-directory: /tmp }',
      `  - { mount: /near, script: ${fixture('apps/express-app.ts')}, group: main }`,
      '',
    ].join('\n'));
    server = await startServer(['--config', path.join(dir, 'site.yaml')], READY);
    base = server.url.replace(/\/$/, '');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('apps naming one group share its workers; group main is the front\'s own workers', async () => {
    const out = server.output();
    assert.match(out, /\/shop -> \S+shop\.ts \(tsgi; process group shop: 8 \(2 processes \* 4 threads\)\)/);
    assert.match(out, /\/shop\/api -> \S+fetch-app\.ts \(fetch; process group shop: 8 \(2 processes \* 4 threads\)\)/);
    assert.match(out, /\/near -> \S+express-app\.ts \(node; in the main process group\)/);
    const shop = await pidsOf(`${base}/shop/`, 8);
    const shopApi = new Set<number>();
    for (let i = 0; i < 8; i++) shopApi.add((await get(`${base}/shop/api/x`)).pid as number);
    assert.ok([...shopApi].every((p) => shop.has(p)) || [...shop].every((p) => shopApi.has(p)), `${[...shop]} / ${[...shopApi]}`);
    const main = await pidsOf(`${base}/`, 2);
    assert.equal(main.size, 1);
    assert.ok(main.has((await get(`${base}/near/`)).pid as number));
    const solo = await pidsOf(`${base}/solo/`, 2);
    assert.ok(disjoint(shop, solo) && disjoint(shop, main) && disjoint(solo, main));
  });

  it('each app\'s setenv reaches its environ only, in a shared group too; each group has its own settings', async () => {
    const shop = await get(`${base}/shop/`);
    assert.equal(shop.stage, 'shop');
    assert.equal(shop.multithread, true);
    assert.equal((await get(`${base}/shop/api/x`)).stage, 'shop-api');
    assert.equal((await get(`${base}/shop/api/x`)).shared, 'everyone');
    const solo = await get(`${base}/solo/`);
    assert.deepEqual([solo.stage, solo.cwd, solo.multiprocess], [null, '/tmp', true]);
    const main = await get(`${base}/`);
    assert.deepEqual([main.stage, main.cwd, main.multiprocess], [null, dir, false]);
  });

  it('a broken deploy of one group keeps its old code serving and the others untouched, under load, with zero failures', async () => {
    const soloBefore = (await get(`${base}/solo/`)).pid as number;
    const shopBefore = await pidsOf(`${base}/shop/`, 6);
    const workersBefore = workerPids(server.pid);
    const loads = [`${base}/shop/`, `${base}/solo/`, `${base}/`].map((url) => new Load(url, { loops: 2, keepAlive: true, maxMs: 30_000 }));
    const source = readFileSync(path.join(dir, 'solo.ts'), 'utf8');
    let from = server.output().length;
    writeFileSync(path.join(dir, 'solo.ts'), `${source}\nthrow new Error('solo: a broken deploy');\n`);
    await server.waitFor(/process group \/solo: Reload failed; the previous code keeps serving[\s\S]*solo: a broken deploy/, 30_000, from);
    assert.equal((await get(`${base}/solo/`)).pid, soloBefore);
    from = server.output().length;
    writeFileSync(path.join(dir, 'solo.ts'), source.replace("const VERSION = 'v1'", "const VERSION = 'v2'"));
    await server.waitFor(/process group \/solo: Reload complete/, 30_000, from);
    const results = await Promise.all(loads.map((l) => l.stop()));
    for (const r of results) assert.equal(r.failed, 0, r.errors.join('\n'));
    let solo = await get(`${base}/solo/`);
    for (let i = 0; i < 20 && solo.version !== 'v2'; i++) solo = await get(`${base}/solo/`);
    assert.equal(solo.version, 'v2');
    // Only the group whose file changed was reloaded: whichever shop workers answer (6
    // requests may meet only one of its two), they were there before and are there still.
    const shopAfter = await pidsOf(`${base}/shop/`, 6);
    const workersAfter = workerPids(server.pid);
    for (const pid of [...shopBefore, ...shopAfter]) {
      assert.ok(workersBefore.has(pid) && workersAfter.has(pid), `shop worker ${pid}: before ${[...workersBefore]}, after ${[...workersAfter]}`);
    }
    assert.doesNotMatch(server.output().slice(from), /process group shop: Reloading/);
  });

  it('SIGTERM lets a request in flight in a group finish, then every group stops', async () => {
    const slow = request(`${base}/solo/slow?ms=1500`, { reset: true });
    await new Promise((resolve) => setTimeout(resolve, 300));
    server.signal('SIGTERM');
    const res = await slow;
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'slow done');
    const { code } = await server.exited();
    assert.equal(code, 0);
  });
});

describe('docs/applications.md: the process-groups example as the guide shows it', () => {
  it('examples/apps/groups.yaml serves each app from its group, with its own environ', async () => {
    const file = path.join(ROOT, 'examples/apps/groups.yaml');
    const guide = readFileSync(path.join(ROOT, 'docs/applications.md'), 'utf8');
    assert.ok(guide.includes(`<!-- file: examples/apps/groups.yaml -->\n\`\`\`yaml\n${readFileSync(file, 'utf8')}\`\`\``), 'the guide does not show groups.yaml as it is');
    const server = await startServer(['--config', file, ...SLOW_START], READY);
    const out = server.output();
    assert.match(out, /\/api -> \S+fetch\.ts \(fetch; process group \/api: 20 \(2 processes \* 10 threads\)\)/);
    assert.match(out, /\/shop -> \S+environ\.ts \(tsgi; process group shop: 100 \(1 process \* 100 threads\)\)/);
    assert.match(out, /\/shop\/admin -> \S+express\.ts \(node; process group shop: 100 \(1 process \* 100 threads\)\)/);
    assert.match(out, /\/env -> \S+environ\.ts \(tsgi; in the main process group\)/);
    const text = async (p: string) => {
      const res = await request(server.url + p, { reset: true });
      assert.equal(res.statusCode, 200, p);
      return res.body.text();
    };
    assert.equal(await text(''), 'Hello world!');
    assert.equal(JSON.parse(await text('api/x')).mountedAt, '/api');
    assert.match(await text('shop/'), /<th>STORE<\/th><td><code>&#34;main&#34;/);
    assert.match(await text('shop/admin/'), /^Hello from Express! Mounted at \/shop\/admin, you asked for \/shop\/admin\/$/);
    const env = await text('env/');
    assert.doesNotMatch(env, /STORE/);
    assert.match(env, /<th>tsgi\.multiprocess<\/th><td><code>true/);
  });
});
