// Pattern mounts (--mount-app-match, mod_wsgi's WSGIScriptAliasMatch): mass hosting through a
// real server. Site directories created, edited, broken and removed while it runs; each site
// in a process group of its own, started by its first request, stopped when idle, removed or
// least recently used at --max-match-apps; escape attempts that must load nothing; the config
// file form and the bad input that stops the server before it starts.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { fixture, killAll, pidAlive, ROOT, runCli, type RunningServer, startServer } from '../helpers/server.js';

after(killAll);

const SITE = fixture('match/site-app.ts');
const MAIN = fixture('app.ts');

type Seen = { version: string; pid: number; scriptName: string; pathInfo: string; env?: string | null; cwd: string };

function makeSite(sites: string, name: string, edit: (text: string) => string = (t) => t): string {
  mkdirSync(path.join(sites, name), { recursive: true });
  const file = path.join(sites, name, 'app.ts');
  writeFileSync(file, edit(readFileSync(SITE, 'utf8')));
  return file;
}

async function get(url: string): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  const res = await request(url);
  return { status: res.statusCode, text: await res.body.text(), headers: res.headers };
}

async function seen(url: string): Promise<Seen> {
  const { status, text } = await get(url);
  assert.equal(status, 200, `${url}: ${text}`);
  return JSON.parse(text) as Seen;
}

/** Polls (bounded) until `check` holds. */
async function eventually(what: string, check: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A raw request: the path exactly as written, no client normalising it. */
function rawStatus(port: number, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (data += d));
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
    socket.on('error', reject);
  });
}

describe('--mount-app-match: sites come and go while the server runs', () => {
  let server: RunningServer;
  let base: string;
  let root: string;
  let sites: string;
  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'tsgi-match-'));
    sites = path.join(root, 'sites');
    mkdirSync(sites);
    makeSite(sites, 'alpha');
    server = await startServer([MAIN, '--mount-point', '/main', '--mount-app-match', '^/([^/]+)', `${sites}/$1/app.ts`, '--access-log']);
    base = server.url.replace(/\/$/, '');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('the banner shows the pattern; the first request starts its site and waits for it', async () => {
    assert.match(server.output(), /Pattern Mount {6}: \^\/\(\[\^\/\]\+\) -> \S+\/sites\/\$1\/app\.ts \(each site started on demand in a process group of its own: 100 \(1 process \* 100 threads\); at most 50\)/);
    const alpha = await seen(`${base}/alpha/x/y?q=1`);
    assert.deepEqual([alpha.scriptName, alpha.pathInfo, alpha.cwd], ['/alpha', '/x/y', path.join(sites, 'alpha')]);
    await server.waitFor(/process group \/alpha: serving \/alpha from \S+\/sites\/alpha\/app\.ts/);
    await server.waitFor(/"GET \/alpha\/x\/y\?q=1 HTTP\/1\.1" 200/);
  });

  it('a site directory created later is served without a restart, in its own process with its own process.env', async () => {
    assert.equal((await get(`${base}/beta/`)).status, 404);
    makeSite(sites, 'beta');
    await eventually('beta is served', async () => (await get(`${base}/beta/`)).status === 200);
    const set = await seen(`${base}/alpha/set?MATCH_MARK=from-alpha`);
    const alpha = await seen(`${base}/alpha/?name=MATCH_MARK`);
    const beta = await seen(`${base}/beta/more?name=MATCH_MARK`);
    assert.equal(alpha.env, 'from-alpha');
    assert.equal(beta.env, null);
    assert.deepEqual([beta.scriptName, beta.pathInfo], ['/beta', '/more']);
    assert.equal(set.pid, alpha.pid);
    assert.notEqual(alpha.pid, beta.pid);
    assert.ok(![alpha.pid, beta.pid].includes(server.pid));
  });

  it('requests that come while a site starts wait for it: one start, one group', async () => {
    makeSite(sites, 'gamma');
    const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => seen(`${base}/gamma/${i}`)));
    assert.equal(new Set(answers.map((a) => a.pid)).size, 1);
    assert.deepEqual(answers.map((a) => a.pathInfo), ['/0', '/1', '/2', '/3']);
    assert.equal(server.output().match(/process group \/gamma: starting/g)?.length, 1);
  });

  it('an explicit mount wins a tie: a site directory named after the main mount is not served', async () => {
    makeSite(sites, 'main');
    const res = await get(`${base}/main/pid`);
    assert.equal(res.status, 200);
    assert.match(res.text, /^\d+$/); // the main app's answer, not a site's JSON
  });

  it('an edited site reloads; a removed one gives 404 and its group stops', async () => {
    const before = await seen(`${base}/beta/`);
    makeSite(sites, 'beta', (t) => t.replace("'v1'", "'v2'"));
    await eventually('beta serves v2', async () => (await seen(`${base}/beta/`)).version === 'v2');
    const reloaded = await seen(`${base}/beta/`);
    assert.notEqual(reloaded.pid, before.pid);
    rmSync(path.join(sites, 'beta'), { recursive: true });
    await eventually('beta gives 404', async () => (await get(`${base}/beta/`)).status === 404);
    await server.waitFor(/process group \/beta: stopping \(its script is gone\)/);
    await eventually(`beta's worker ${reloaded.pid} exits`, () => !pidAlive(reloaded.pid));
    assert.equal((await seen(`${base}/alpha/`)).scriptName, '/alpha');
  });

  it('a site that fails to load answers 500, is logged, leaves the others serving, and serves once fixed', async () => {
    makeSite(sites, 'broken', (t) => `throw new Error('this site is broken on purpose');\n${t}`);
    const from = server.output().length;
    const res = await get(`${base}/broken/`);
    assert.equal(res.status, 500);
    assert.match(res.text, /could not be loaded/);
    await server.waitFor(/process group \/broken: \S+broken\/app\.ts could not be started \(1 in a row\); its requests get 500 until a request after 1 s, or a change to it, tries again:[^]*this site is broken on purpose/, 15_000, from);
    assert.equal((await get(`${base}/broken/`)).status, 500);
    assert.equal((await seen(`${base}/alpha/`)).scriptName, '/alpha');
    makeSite(sites, 'broken');
    await eventually('the fixed site serves', async () => (await get(`${base}/broken/`)).status === 200);
  });

  it('.. and encoded slashes never load anything outside the sites directory', async () => {
    const outside = path.join(root, 'outside');
    const marker = path.join(root, 'outside-loaded');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'app.ts'), `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'loaded');\nexport const application = () => [];\n`);
    for (const target of ['/..%2Foutside/x', '/%2e%2e%2Foutside/x', '/..%2F..%2F' + root.slice(1).replaceAll('/', '%2F') + '%2Foutside/x', '/%2e%2e/outside/x', '/../outside/x', '/alpha/..%2F..%2Foutside/x']) {
      const status = await rawStatus(server.port, target);
      // alpha's own app may serve its PATH_INFO; nothing else may answer but 404 or 400.
      if (target.startsWith('/alpha/')) assert.equal(status, 200, target);
      else assert.ok(status === 404 || status === 400, `${target}: ${status}`);
    }
    assert.equal(existsSync(marker), false);
    assert.doesNotMatch(server.output(), /process group \/\.\./);
  });
});

describe('--mount-app-match from a --config file: --max-match-apps and --match-idle-timeout', () => {
  let server: RunningServer;
  let base: string;
  let root: string;
  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'tsgi-match-config-'));
    const sites = path.join(root, 'sites');
    for (const name of ['one', 'two']) makeSite(sites, name);
    cpSync(MAIN, path.join(root, 'main.ts'));
    // Relative paths in the file are relative to it.
    writeFileSync(path.join(root, 'server.yaml'), [
      'script: main.ts',
      'mount-point: /main',
      'mount-app-match:',
      "  '^/([^/]+)': 'sites/$1/app.ts'",
      'max-match-apps: 1',
      'match-idle-timeout: 2',
      'match-processes: 1',
      '',
    ].join('\n'));
    server = await startServer(['--config', path.join(root, 'server.yaml')]);
    base = server.url.replace(/\/$/, '');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('at the cap the least recently used idle site is stopped to make room', async () => {
    const one = await seen(`${base}/one/`);
    const two = await seen(`${base}/two/`);
    assert.equal(two.scriptName, '/two');
    await server.waitFor(/process group \/one: stopping \(the least recently used of --max-match-apps 1, to make room\)/);
    await eventually(`one's worker ${one.pid} exits`, () => !pidAlive(one.pid));
  });

  it('at the cap with no site idle: 503 with Retry-After', async () => {
    const from = server.output().length;
    const slow = seen(`${base}/two/slow?ms=2500`);
    await server.waitFor(/slow request started at \/two/, 10_000, from);
    const refused = await get(`${base}/one/`);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], '2');
    const two = await slow;
    assert.equal(two.scriptName, '/two');
  });

  it('an idle site is stopped after --match-idle-timeout and started again by its next request', async () => {
    const from = server.output().length;
    const before = await seen(`${base}/two/`);
    await server.waitFor(/process group \/two: stopping \(no request for \d+\.\d s, --match-idle-timeout 2\)/, 15_000, from);
    await eventually(`two's worker ${before.pid} exits`, () => !pidAlive(before.pid));
    const again = await seen(`${base}/two/`);
    assert.notEqual(again.pid, before.pid);
  });
});

describe('--mount-app-match: a site whose start outlasts --startup-timeout', () => {
  const TIMEOUT = 8; // the main app and the quick sites must start well within it on a loaded machine
  let server: RunningServer;
  let base: string;
  let root: string;
  let sites: string;
  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'tsgi-match-slow-'));
    sites = path.join(root, 'sites');
    mkdirSync(sites);
    makeSite(sites, 'alpha');
    // Its first start never ends (abandoned at --startup-timeout); later ones take 2 s.
    const once = path.join(root, 'slow-started-once');
    makeSite(sites, 'slow', (t) => [
      "import { existsSync, writeFileSync } from 'node:fs';",
      `const first = !existsSync(${JSON.stringify(once)});`,
      `writeFileSync(${JSON.stringify(once)}, '');`,
      'await new Promise((resolve) => setTimeout(resolve, first ? 120_000 : 2000));',
      t,
    ].join('\n'));
    server = await startServer([MAIN, '--mount-point', '/main', '--mount-app-match', '^/([^/]+)', `${sites}/$1/app.ts`, '--startup-timeout', String(TIMEOUT), '--access-log']);
    base = server.url.replace(/\/$/, '');
    await seen(`${base}/alpha/`);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('its waiting requests get 503 with Retry-After, logged, while the other sites serve; a later request starts it again and it serves', async () => {
    const from = server.output().length;
    let slowAnswered = false;
    const waiting = Promise.all([get(`${base}/slow/a`), get(`${base}/slow/b`)]).finally(() => (slowAnswered = true));
    await server.waitFor(/process group \/slow: starting/, 10_000, from);
    // Meanwhile: a running site answers, and another site starts and answers, long before the slow one gives up.
    assert.equal((await seen(`${base}/alpha/`)).scriptName, '/alpha');
    makeSite(sites, 'beta');
    assert.equal((await seen(`${base}/beta/`)).scriptName, '/beta');
    assert.equal(slowAnswered, false, 'the other sites were answered only once the slow one gave up');
    const answers = await waiting;
    for (const res of answers) {
      assert.equal(res.status, 503, res.text);
      assert.equal(res.headers['retry-after'], '1');
      assert.match(res.text, /did not start in time/);
    }
    await server.waitFor(
      new RegExp(`process group /slow: \\S+slow/app\\.ts could not be started \\(1 in a row\\); its requests get 503 until a request after 1 s, or a change to it, tries again:\\n.*did not become ready within --startup-timeout ${TIMEOUT}s`),
      10_000,
      from,
    );
    await server.waitFor(/"GET \/slow\/a HTTP\/1\.1" 503/, 10_000, from);
    // Retried on a request after Retry-After: this start takes 2 s, and the request waits for it.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const slow = await seen(`${base}/slow/x`);
    assert.deepEqual([slow.scriptName, slow.pathInfo], ['/slow', '/x']);
  });
});

describe("the guide's mass-hosting example (docs/applications.md)", () => {
  it('examples/mass-hosting serves its site at the matched prefix and the main app at /home', async () => {
    const guide = readFileSync(path.join(ROOT, 'docs/applications.md'), 'utf8');
    for (const [file, lang] of [['server.yaml', 'yaml'], ['sites/hello/app.ts', 'ts']] as const) {
      const text = readFileSync(path.join(ROOT, 'examples/mass-hosting', file), 'utf8');
      assert.ok(guide.includes(`<!-- file: examples/mass-hosting/${file} -->\n\`\`\`${lang}\n${text}\`\`\``), `the guide does not show ${file} as it is`);
    }
    const server = await startServer(['--config', path.join(ROOT, 'examples/mass-hosting/server.yaml')]);
    const base = server.url.replace(/\/$/, '');
    assert.deepEqual(await get(`${base}/hello/x`).then((r) => [r.status, r.text]), [200, 'Hello from the site at /hello, asked for /x']);
    assert.deepEqual(await get(`${base}/home/`).then((r) => [r.status, r.text]), [200, 'Hello world!']);
    assert.equal((await get(`${base}/nosite/`)).status, 404);
  });
});

describe('--mount-app-match: bad input stops the server before it starts', () => {
  it('a regex that does not compile: exit 2, naming the flag', async () => {
    const { code, output } = await runCli(['start-server', MAIN, '--mount-app-match', '^/([^/]+', '/srv/$1/app.ts', '--port', '0']);
    assert.equal(code, 2);
    assert.match(output, /--mount-app-match \^\/\(\[\^\/\]\+: the regex does not compile/);
  });
});
