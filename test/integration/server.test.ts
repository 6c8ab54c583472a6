// The core server through real sockets: environ, queue, crashes, signals, logs.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, Client, request } from 'undici';
import { fixture, killAll, runCli, sleepInApp, startServer, waitGone, type RunningServer } from '../helpers/server.js';

const tempDirs: string[] = [];
after(async () => {
  killAll();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function get(url: string, headers: Record<string, string | string[]> = {}) {
  const res = await request(url, { headers });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** Writes `text` on a raw connection and resolves with all the server sent until it closed. */
function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.on('data', (d) => (data += d));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
  });
}

describe('a server with two workers', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([
      fixture('app.ts'), '--processes', '2', '--threads', '4', '--access-log', '--limit-request-fields', '3000',
      '--setenv', 'GREETING', 'hello', '--passenv', 'FIXTURE_SECRET', '--mount-point', '/app',
      // --setenv never replaces what the request or the server sets:
      '--setenv', 'REMOTE_ADDR', '10.9.8.7', '--setenv', 'tsgi.url_scheme', 'gopher',
    ], { env: { FIXTURE_SECRET: 's3cret', NOT_PASSED: 'x' } });
  });

  it('prints the banner', () => {
    const out = server.output();
    // --port 0: the default server root is named after the port actually picked.
    assert.match(out, new RegExp(`Server Root {8}: \\S*tsgi-express-127\\.0\\.0\\.1:${server.port}:\\d+\\n`));
    assert.match(out, /Server URL {9}: http:\/\/127\.0\.0\.1:\d+\//);
    assert.match(out, /Application {8}: .*app\.ts \(tsgi\)/);
    assert.match(out, /Mount Point {8}: \/app/);
    assert.match(out, /Operating Mode {5}: daemon/);
    assert.match(out, /Request Capacity {3}: 8 \(2 processes \* 4 threads\)/);
    assert.match(out, /Reloading {10}: script/);
    assert.match(out, /Access Log {9}: \/dev\/stdout \(common\)/);
  });

  it('builds the environ from the request', async () => {
    const res = await get(`${server.url}app/environ/a%2Fb%20c?x=1&y=%41`, {
      'X-Dash': '2', X_User: 'spoof', Proxy: 'http://evil', Cookie: ['a=1', 'b=2'],
      'X-Multi': ['one', 'two'], 'Content-Type': 'text/x-test',
    });
    assert.equal(res.status, 200);
    const env = JSON.parse(res.body);
    assert.equal(env.REQUEST_METHOD, 'GET');
    assert.equal(env.SCRIPT_NAME, '/app');
    assert.equal(env.PATH_INFO, '/environ/a/b c');
    assert.equal(env.QUERY_STRING, 'x=1&y=%41');
    assert.equal(env.REQUEST_URI, '/app/environ/a%2Fb%20c?x=1&y=%41');
    assert.equal(env.SERVER_NAME, '127.0.0.1');
    assert.equal(env.SERVER_PORT, String(server.port));
    assert.equal(env.SERVER_PROTOCOL, 'HTTP/1.1');
    assert.equal(env.REMOTE_ADDR, '127.0.0.1');
    assert.match(env.REMOTE_PORT, /^\d+$/);
    assert.equal(env.HTTP_X_DASH, '2');
    assert.equal(env.HTTP_X_USER, undefined);
    assert.equal(env.HTTP_PROXY, undefined);
    assert.equal(env.HTTP_COOKIE, 'a=1; b=2');
    assert.equal(env.HTTP_X_MULTI, 'one, two');
    assert.equal(env.CONTENT_TYPE, 'text/x-test');
    assert.equal(env.HTTP_CONTENT_TYPE, undefined);
    assert.equal(env.CONTENT_LENGTH, undefined);
    assert.equal(env.GREETING, 'hello');
    assert.equal(env.FIXTURE_SECRET, 's3cret');
    assert.equal(env.NOT_PASSED, undefined);
    assert.deepEqual(env['tsgi.version'], [1, 0]);
    assert.equal(env['tsgi.url_scheme'], 'http');
    assert.equal(env['tsgi.multithread'], true);
    assert.equal(env['tsgi.multiprocess'], true);
    assert.equal(env['tsgi.run_once'], false);
    assert.equal(env['tsgi.input_terminated'], true);
    assert.equal(env['tsgi.input'], '<object>');
    assert.equal(env['tsgi.file_wrapper'], '<function>');
    assert.equal(typeof env['tsgi_express.version'], 'string');
    assert.equal(typeof env['tsgi_express.process_id'], 'number');
    assert.equal(typeof env['tsgi_express.request_id'], 'string');
    assert.ok(Math.abs(env['tsgi_express.request_start'] / 1000 - Date.now()) < 5000);
    assert.match(env['tsgi_express.script_name'], /fixtures\/app\.ts$/);
    assert.equal(env['tsgi_express.debug_mode'], false);
  });

  it('answers 404 outside the mount point without calling the app', async () => {
    assert.equal((await get(`${server.url}elsewhere`)).status, 404);
    assert.equal((await get(`${server.url}application`)).status, 404);
  });

  it('answers 400 to a malformed request and keeps serving', async () => {
    const reply = await exchange(server.port, 'NOT HTTP AT ALL\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 400 Bad Request/);
    assert.equal((await get(`${server.url}app/pid`)).status, 200);
  });

  it("answers OPTIONS * itself, and '*' with another method with 400", async () => {
    const options = await exchange(server.port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(options, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(options, /\r\nContent-Length: 0\r\n/i);
    assert.ok(options.endsWith('\r\n\r\n'), 'no body');
    const other = await exchange(server.port, 'GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(other, /^HTTP\/1\.1 400 Bad Request/);
    assert.match(other, /only for OPTIONS/);
  });

  it('finishes the responses already on a connection before the 400 for a bad request after them', async () => {
    const pipelined = await exchange(server.port, 'GET /app/pid HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nX_Bad Header\r\n\r\n');
    assert.match(pipelined, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n\d+HTTP\/1\.1 400 Bad Request\r\n/);
    // Garbage arriving while a chunked body streams: the body ends whole, then the 400.
    const streamed = await exchange(server.port, 'GET /app/stream HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n');
    assert.match(streamed, /aaaaa[\s\S]*bbbbb[\s\S]*ccccc\r\n0\r\n\r\nHTTP\/1\.1 400 Bad Request\r\n/);
    // Bytes after a request that said Connection: close are ignored, not answered.
    const closed = await exchange(server.port, 'GET /app/pid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /app/pid HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(closed.match(/HTTP\/1\.1 /g)?.length, 1, closed);
    assert.match(closed, /^HTTP\/1\.1 200 OK/);
    // Chunk extensions past Node's limit: 413, as Node's own handler answers.
    const extended = await exchange(server.port,
      `POST /app/pid HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;${'a'.repeat(20_000)}\r\nx\r\n0\r\n\r\n`);
    assert.match(extended, /HTTP\/1\.1 413 Payload Too Large\r\n/);
  });

  it('answers 400 to a repeated Host or one that is not host[:port]', async () => {
    const status = async (...hosts: string[]) =>
      (await exchange(server.port, `GET /app/pid HTTP/1.1\r\n${hosts.map((h) => `Host: ${h}\r\n`).join('')}Connection: close\r\n\r\n`)).slice(9, 12);
    assert.equal(await status('a.example', 'b.example'), '400');
    for (const bad of ['x/admin?', 'a.example/evil', 'h#frag', 'user@h', 'h:80x', 'ex ample']) assert.equal(await status(bad), '400', bad);
    for (const good of ['a.example', 'a.example:8080', '[::1]:8080', '127.0.0.1', '']) assert.equal(await status(good), '200', good);
  });

  it('removes dot segments before matching the mount point; above the root, #, NUL: 400', async () => {
    const send = (target: string) => exchange(server.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(await send('/app/../x'), /^HTTP\/1\.1 404 /, 'a dot segment must not lead out of the mount point');
    assert.match(await send('/app/%2e%2e/x'), /^HTTP\/1\.1 404 /);
    const inside = await send('/x/../app/./environ?q=1');
    const env = JSON.parse(inside.slice(inside.indexOf('\r\n\r\n') + 4));
    assert.deepEqual([env.SCRIPT_NAME, env.PATH_INFO, env.REQUEST_URI], ['/app', '/environ', '/x/../app/./environ?q=1']);
    for (const bad of ['/..', '/app/../..', '/app/a#b', '/app/a%00b']) assert.match(await send(bad), /^HTTP\/1\.1 400 /, bad);
    // An absolute-form target: its path is matched, its host wins over Host (RFC 9112 3.2.2).
    const absolute = await send('http://Example.test:8080/app/environ');
    const abs = JSON.parse(absolute.slice(absolute.indexOf('\r\n\r\n') + 4));
    assert.deepEqual([abs.PATH_INFO, abs.HTTP_HOST, abs.SERVER_NAME], ['/environ', 'Example.test:8080', 'Example.test']);
  });

  it('answers CONNECT with 405: an origin server does not tunnel', async () => {
    const reply = await exchange(server.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 405 Method Not Allowed\r\n/);
  });

  it('passes every header to the app, past Node\'s default of 2000, but never Proxy-Authorization', async () => {
    const many = Array.from({ length: 2050 }, (_, i) => `a: ${i}\r\n`).join('');
    const reply = await exchange(server.port,
      `GET /app/environ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nProxy-Authorization: Basic eDp5\r\n${many}X-Last: present\r\n\r\n`);
    const env = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4));
    assert.equal(env.HTTP_X_LAST, 'present');
    assert.equal(env.HTTP_PROXY_AUTHORIZATION, undefined);
  });

  it('answers 400 to a path that is not valid UTF-8', async () => {
    assert.equal((await get(`${server.url}app/%ff%fe`)).status, 400);
  });

  it('answers 500 without a stack trace and logs the .ts stack', async () => {
    const res = await get(`${server.url}app/throw`);
    assert.equal(res.status, 500);
    assert.doesNotMatch(res.body, /kaboom|app\.ts/);
    await server.waitFor(/\[tsgi:error\] \[pid \d+\] \[rid [^\]]+\] Error: kaboom from the app/);
    await server.waitFor(/fixtures\/app\.ts:\d+:\d+/);
  });

  it('tags app output with the worker pid and request id', async () => {
    const res = await get(`${server.url}app/print`);
    assert.equal(res.status, 200);
    const m = await server.waitFor(/\[app:stdout\] \[pid (\d+)\] \[rid ([^\]]+)\] printed by request (\S+)/);
    assert.equal(m[2], m[3]);
  });

  it('writes access-log lines in common format', async () => {
    await get(`${server.url}app/pid?q=1`);
    await server.waitFor(/127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET \/app\/pid\?q=1 HTTP\/1\.1" 200 \d+/);
  });

  it('serves from both workers', async () => {
    const pids = new Set<string>();
    for (let i = 0; i < 30 && pids.size < 2; i++) {
      pids.add((await request(`${server.url}app/pid`, { reset: true }).then((r) => r.body.text())));
    }
    assert.equal(pids.size, 2);
  });

  it('replaces a crashed worker and keeps serving meanwhile', async () => {
    const from = server.output().length;
    const res = await get(`${server.url}app/crash`);
    assert.equal(res.status, 200);
    const died = await server.waitFor(/worker (\d+) died \(exit code 1\) while serving requests/, 5000, from);
    await server.waitFor(/crash requested/, 5000, from);
    const statuses = await Promise.all(
      Array.from({ length: 20 }, () => request(`${server.url}app/pid`, { reset: true }).then((r) => r.statusCode)),
    );
    assert.deepEqual(new Set(statuses), new Set([200]));
    // The replacement serves: eventually two live pids, neither the dead one.
    const pids = new Set<string>();
    for (let i = 0; i < 60 && pids.size < 2; i++) {
      pids.add(await request(`${server.url}app/pid`, { reset: true }).then((r) => r.body.text()));
      if (pids.size < 2) await sleep(50);
    }
    assert.equal(pids.size, 2);
    assert.ok(!pids.has(died[1]!));
  });
});

describe('access log formats', { timeout: 60_000 }, () => {
  it('combined format, with the byte count of a chunked response', async () => {
    const server = await startServer([fixture('app.ts'), '--access-log', '--access-log-format', 'combined']);
    const res = await request(`${server.url}stream`, { headers: { Referer: 'http://ref.example/', 'User-Agent': 'tester/1.0' } });
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal(await res.body.text(), 'aaaaabbbbbccccc');
    await server.waitFor(/"GET \/stream HTTP\/1\.1" 200 15 "http:\/\/ref\.example\/" "tester\/1\.0"/);
    await request(`${server.url}pid`, { method: 'HEAD' }).then((r) => r.body.text());
    await server.waitFor(/"HEAD \/pid HTTP\/1\.1" 200 - "-" "[^"]*"/);
  });
});

describe('access log: an Apache LogFormat string', { timeout: 60_000 }, () => {
  it('writes the directives asked for, per request, through a real server', async () => {
    const format = '%m %U %q %>s %B [%{X-Trace}i] [%{Content-Type}o] %L %X %P %{remote}p "%r" %V';
    const server = await startServer([fixture('app.ts'), '--access-log', '--access-log-format', format]);
    const res = await request(`${server.url}environ?x=1`, { headers: { 'X-Trace': 't1' } });
    const environ = (await res.body.json()) as Record<string, unknown>;
    const bytes = Number(res.headers['content-length']);
    const line = await server.waitFor(/^GET .*$/m);
    const expected =
      `GET /environ ?x=1 200 ${bytes} [t1] [application/json] ${environ['tsgi_express.request_id']} + ` +
      `${environ['tsgi_express.process_id']} ${environ.REMOTE_PORT} "GET /environ?x=1 HTTP/1.1" 127.0.0.1`;
    assert.equal(line[0], expected);
    // An absolute-form target: %U is its path, %V its host (as SERVER_NAME), %r the line as sent.
    const from = server.output().length;
    await exchange(server.port, 'GET http://Example.test:8080/pid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const absolute = await server.waitFor(/^GET \S*pid .*$/m, 10_000, from);
    assert.match(absolute[0], /^GET \/pid  200 .* "GET http:\/\/Example\.test:8080\/pid HTTP\/1\.1" Example\.test$/);
  });

  it('a directive it cannot log stops the server before it starts, naming it', async () => {
    const { code, output } = await runCli(['start-server', fixture('app.ts'), '--access-log-format', '%h %{FOO}e', '--port', '0']);
    assert.equal(code, 2);
    assert.match(output, /^tsgi-express: error: --access-log-format is not a usable LogFormat: %\{FOO\}e is not a directive/m);
  });
});

describe('the request queue (--threads)', { timeout: 60_000 }, () => {
  it('answers 503 with Retry-After to a request that waited --queue-timeout', async () => {
    const server = await startServer([fixture('app.ts'), '--threads', '1', '--queue-timeout', '0.3']);
    const slow = (await sleepInApp(server, 2000, get)).response;
    let slowDone = false;
    void slow.then(() => (slowDone = true), () => {});
    const queued = await get(`${server.url}print`);
    assert.equal(queued.status, 503);
    assert.equal(queued.headers['retry-after'], '1');
    assert.equal(slowDone, false, 'the 503 came when the thread was freed, not at the queue timeout');
    assert.equal((await slow).status, 200);
    assert.doesNotMatch(server.output(), /printed by request/); // never reached the app
  });

  it('--threads 1 runs one request at a time: a short request waits for the long one before it', async () => {
    const server = await startServer([fixture('app.ts'), '--threads', '1']);
    const finished: string[] = [];
    const track = (name: string) => (r: { status: number }) => (finished.push(name), r.status);
    const long = (await sleepInApp(server, 600, get)).response.then(track('long'));
    const short = get(`${server.url}sleep?ms=1`).then(track('short'));
    assert.deepEqual(await Promise.all([long, short]), [200, 200]);
    assert.deepEqual(finished, ['long', 'short']);
  });
});

describe('signals and process lifetime', { timeout: 60_000 }, () => {
  it('SIGTERM lets an in-flight request finish, exits 0 and leaves no process', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tsgi-pid-'));
    tempDirs.push(dir);
    const pidFile = path.join(dir, 'master.pid');
    const server = await startServer([fixture('app.ts'), '--processes', '2', '--pid-file', pidFile]);
    assert.equal(readFileSync(pidFile, 'utf8').trim(), String(server.pid));
    const inFlight = (await sleepInApp(server, 800, get)).response;
    server.signal('SIGTERM');
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.match(res.body, /^slept/);
    assert.deepEqual(await server.exited(), { code: 0, signal: null });
    assert.ok(await waitGone(server.pid), 'a worker outlived the master');
    assert.equal(existsSync(pidFile), false);
  });

  it('SIGHUP replaces every worker without failing a request', async () => {
    const server = await startServer([fixture('app.ts'), '--processes', '2']);
    const before = new Set<string>();
    for (let i = 0; i < 20 && before.size < 2; i++) before.add(await request(`${server.url}pid`, { reset: true }).then((r) => r.body.text()));
    const inFlight = (await sleepInApp(server, 600, get)).response;
    server.signal('SIGHUP');
    await server.waitFor(/Reload complete/);
    assert.equal((await inFlight).status, 200);
    const after = new Set<string>();
    for (let i = 0; i < 20 && after.size < 2; i++) after.add(await request(`${server.url}pid`, { reset: true }).then((r) => r.body.text()));
    for (const pid of after) assert.ok(!before.has(pid), `old worker ${pid} still serving`);
  });

  it('a reload answers requests running or queued at the time with Connection: close', async () => {
    const server = await startServer([fixture('app.ts'), '--threads', '1']);
    // Long enough that the old worker is still answering after the new generation
    // is ready and the master has told it to drain (a loaded machine can take 3 s to start one).
    const running = (await sleepInApp(server, 6000, get)).response;
    const queued = get(`${server.url}sleep?ms=10`); // waits for the one thread
    await sleep(150); // nothing tells when it is in the worker's queue
    server.signal('SIGHUP');
    await server.waitFor(/Reload complete/);
    const [a, b] = [await running, await queued];
    assert.deepEqual([a.status, b.status], [200, 200]);
    assert.equal(a.headers.connection, 'close');
    assert.equal(b.headers.connection, 'close');
    const fresh = await get(`${server.url}pid`);
    assert.equal(fresh.headers.connection, 'keep-alive', 'the new generation keeps connections alive');
  });

  it('no worker outlives a master killed with SIGKILL', async () => {
    const server = await startServer([fixture('app.ts'), '--processes', '2']);
    process.kill(server.pid, 'SIGKILL');
    await server.exited();
    assert.ok(await waitGone(server.pid, 3000), 'workers survived the master');
  });
});

/** New connections, each with one request, opened while workers are busy; each one's status or error code. */
async function newConnections(server: RunningServer, count: number, whileOpen: () => Promise<void>): Promise<(number | string)[]> {
  const dispatcher = new Agent({ headersTimeout: 3000, connect: { timeout: 3000 } });
  try {
    const outcomes = Promise.all(
      Array.from({ length: count }, () =>
        request(`${server.url}pid`, { reset: true, dispatcher }).then(
          (r) => r.body.text().then(() => r.statusCode),
          (err: { code?: string }) => err.code ?? 'error',
        ),
      ),
    );
    await whileOpen();
    return await outcomes;
  } finally {
    await dispatcher.close();
  }
}

/**
 * Blocks a worker for 400 ms and crashes it before its event loop turns again,
 * while eight new connections arrive: the master hands some of them to the
 * blocked worker.
 */
async function connectionsDuringCrash(server: RunningServer): Promise<(number | string)[]> {
  void request(`${server.url}block-then-crash?ms=400`, { reset: true }).then(
    (r) => r.body.text(),
    () => {},
  );
  await sleep(100);
  return newConnections(server, 8, async () => {});
}

describe('connections arriving while a worker crashes', { timeout: 60_000 }, () => {
  it('with two workers, go to the other worker instead of hanging', async () => {
    const server = await startServer([fixture('app.ts'), '--processes', '2']);
    const outcomes = await connectionsDuringCrash(server);
    await server.waitFor(/crash after blocking/);
    assert.deepEqual(outcomes, Array(8).fill(200));
  });

  it('with one worker, wait in the backlog for its replacement', async () => {
    const server = await startServer([fixture('app.ts'), '--processes', '1']);
    const outcomes = await connectionsDuringCrash(server);
    await server.waitFor(/crash after blocking/);
    assert.deepEqual(outcomes, Array(8).fill(200));
  });
});

/** Busies the worker behind one kept-alive connection; resolves with that worker's pid. */
async function blockAWorker(server: RunningServer, exclude: readonly number[] = []): Promise<{ pid: number; client: Client }> {
  for (let tries = 0; tries < 6; tries++) {
    const client = new Client(server.url.replace(/\/$/, ''));
    const pid = Number(await (await client.request({ method: 'GET', path: '/pid' })).body.text());
    if (exclude.includes(pid)) {
      await client.close();
      continue;
    }
    void client.request({ method: 'GET', path: '/block?ms=3000' }).then((r) => r.body.text(), () => {});
    return { pid, client };
  }
  throw new Error('round-robin never reached another worker');
}

describe('connections handed to a worker killed outright', { timeout: 60_000 }, () => {
  it('go to another worker when one is SIGKILLed', async () => {
    const server = await startServer([fixture('app.ts'), '--processes', '2']);
    const blocked = await blockAWorker(server);
    try {
      await sleep(100);
      const outcomes = await newConnections(server, 8, async () => {
        await sleep(300); // the master has handed one of them to the blocked worker
        process.kill(blocked.pid, 'SIGKILL');
      });
      assert.deepEqual(outcomes, Array(8).fill(200));
      await server.waitFor(/died \(signal SIGKILL\)/);
    } finally {
      await blocked.client.destroy();
    }
  });

  it('are reset, not left hanging, when every worker is SIGKILLed', async () => {
    const server = await startServer([fixture('app.ts'), '--processes', '2']);
    const first = await blockAWorker(server);
    const second = await blockAWorker(server, [first.pid]);
    try {
      await sleep(100);
      const outcomes = await newConnections(server, 4, async () => {
        await sleep(300);
        process.kill(first.pid, 'SIGKILL');
        process.kill(second.pid, 'SIGKILL');
      });
      const hung = outcomes.filter((o) => o !== 200 && !['ECONNRESET', 'UND_ERR_SOCKET'].includes(String(o)));
      assert.deepEqual(hung, []);
    } finally {
      await Promise.all([first.client.destroy(), second.client.destroy()]);
    }
  });
});

/** Whether process `pid` has an fd on the socket listening on `port` (Linux /proc). */
function holdsListeningSocket(pid: number, port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const listening = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/); // local_address is f[1], st f[3], inode f[9]
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A') listening.add(f[9]!);
    }
  }
  return readdirSync(`/proc/${pid}/fd`).some((fd) => {
    const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: 'utf8' }));
    return m !== null && listening.has(m[1]!);
  });
}

describe('one worker: the master keeps the listening socket', { timeout: 60_000 }, () => {
  it('connections made while the only worker is dead are served by its replacement', async () => {
    const server = await startServer([fixture('app.ts'), '--processes', '1']);
    const before = Number(await (await request(`${server.url}pid`)).body.text());
    process.kill(before, 'SIGKILL');
    await server.waitFor(/died \(signal SIGKILL\)/);
    // The replacement takes some hundreds of milliseconds to load the app: these arrive before it listens.
    const outcomes = await newConnections(server, 8, async () => {});
    assert.deepEqual(outcomes, Array(8).fill(200));
    const after = Number(await (await request(`${server.url}pid`)).body.text());
    assert.notEqual(after, before);
  });

  it('where node:net no longer exports its bind, leaves the socket to node:cluster and still serves', async () => {
    const server = await startServer([fixture('app.ts'), '--processes', '1', '--log-level', 'debug'], {
      env: { NODE_OPTIONS: `--import ${pathToFileURL(fixture('hide-net-bind.mjs')).href}` },
    });
    await server.waitFor(/node:cluster keeps the listening socket, the worker accepts/);
    const before = Number(await (await request(`${server.url}pid`)).body.text());
    // SCHED_NONE, not round-robin: the worker itself holds the listening socket.
    assert.equal(holdsListeningSocket(before, server.port), true);
    process.kill(before, 'SIGKILL');
    await server.waitFor(/died \(signal SIGKILL\)/);
    // The replacement accepts on node:cluster's shared socket once it has loaded the
    // app; until then a connection may be refused (there is no master-owned backlog).
    let after: number | undefined;
    for (let tries = 0; after === undefined && tries < 100; tries++) {
      try {
        const res = await request(`${server.url}pid`);
        if (res.statusCode === 200) after = Number(await res.body.text());
        else await res.body.dump();
      } catch {
        await sleep(100);
      }
    }
    assert.ok(after !== undefined && after > 0, 'the replacement worker never served');
    assert.notEqual(after, before);
  });

  it('--host given as a name is resolved and bound by the master', async () => {
    const server = await startServer([fixture('app.ts'), '--processes', '1'], { host: 'localhost' });
    const res = await request(`http://localhost:${server.port}/pid`);
    assert.equal(res.statusCode, 200);
    assert.equal(Number(await res.body.text()) > 0, true);
  });

  it('with no --host, listens on every interface, IPv4 and IPv6 loopback alike', async () => {
    const server = await startServer([fixture('app.ts'), '--processes', '1'], { host: null });
    for (const loopback of ['127.0.0.1', '[::1]']) {
      const res = await request(`http://${loopback}:${server.port}/pid`);
      assert.equal(res.statusCode, 200, loopback);
      await res.body.text();
    }
  });

  it('refuses new connections while a stop lets the in-flight request finish', async () => {
    const server = await startServer([fixture('app.ts'), '--processes', '1']);
    const inFlight = (await sleepInApp(server, 1500, get)).response;
    const from = server.output().length;
    server.signal('SIGTERM');
    await server.waitFor(/SIGTERM received/, 5000, from);
    await sleep(300); // nothing tells when the worker has closed its copy of the socket
    // Not queued in a backlog nobody will accept from: refused at once.
    const late = await request(`${server.url}pid`, { reset: true }).then(
      (r) => r.statusCode,
      (err: { code?: string }) => err.code,
    );
    assert.equal(late, 'ECONNREFUSED');
    assert.equal((await inFlight).status, 200);
    assert.deepEqual(await server.exited(), { code: 0, signal: null });
  });
});

describe('debug mode', { timeout: 60_000 }, () => {
  it('runs one process and thread, shows the stack page, keeps environ flags false', async () => {
    const server = await startServer([fixture('app.ts'), '--debug-mode', '--processes', '3']);
    assert.match(server.output(), /Operating Mode {5}: debug/);
    assert.match(server.output(), /1 \(1 process \* 1 thread\); debug mode overrides --processes and --threads/);
    const res = await get(`${server.url}throw`);
    assert.equal(res.status, 500);
    assert.match(res.body, /kaboom from the app/);
    assert.match(res.body, /fixtures\/app\.ts:\d+:\d+/);
    const env = JSON.parse((await get(`${server.url}environ`)).body);
    assert.equal(env['tsgi.multiprocess'], false);
    assert.equal(env['tsgi.multithread'], false);
    assert.equal(env['tsgi_express.debug_mode'], true);
    await get(`${server.url}print`);
    const line = await server.waitFor(/^.*printed by request.*$/m);
    assert.doesNotMatch(line[0], /\[app:stdout\]/, 'debug mode output should go straight to the terminal');
  });
});
