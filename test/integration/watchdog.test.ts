// The watchdog (issue 21): --request-timeout answers a request that runs too long
// with 504 (or cuts its connection if its response has started), tells the
// application, logs it, and the worker goes on serving others.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { Load } from '../helpers/load.js';
import { metricsUrl, scrape } from '../helpers/prometheus.js';
import { readStatus, readStatusUntil } from '../helpers/server-status.js';
import { childrenRunning, fixture, killAll, ROOT, runCli, startServer, type RunningServer } from '../helpers/server.js';

const tempDirs: string[] = [];
after(async () => {
  killAll();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const APP = fixture('supervised-app.ts');

async function timed(url: string): Promise<{ status: number; body: string; ms: number }> {
  const t0 = performance.now();
  const res = await request(url, { headersTimeout: 15_000, bodyTimeout: 15_000 });
  const body = await res.body.text();
  return { status: res.statusCode, body, ms: performance.now() - t0 };
}

/** Raw GET; resolves with what came back and how the connection ended. */
function rawGet(server: RunningServer, path: string): Promise<{ text: string; ended: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = net.connect(server.port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`));
    let text = '';
    let ended = 'close';
    socket.setEncoding('utf8');
    socket.on('data', (d) => (text += d));
    socket.on('end', () => (ended = 'end'));
    socket.on('error', (err: NodeJS.ErrnoException) => (ended = err.code ?? 'error'));
    socket.on('close', () => resolve({ text, ended, ms: performance.now() - t0 }));
    socket.setTimeout(15_000, () => socket.destroy());
  });
}

describe('--request-timeout', { timeout: 150_000 }, () => {
  it('TSGI: 504 after exactly the timeout, tsgi.signal aborts, logged with URL and worker; other requests are served meanwhile', async () => {
    const server = await startServer([APP, '--processes', '1', '--threads', '1', '--request-timeout', '1', '--server-status', '--metrics-port', '0']);
    const slow = timed(`${server.url}slow?ms=20000&tag=t1`);
    await server.waitFor(/request t1 started/);
    // --threads 1: this one waits for the slot the slow request holds until it times out.
    const queued = timed(server.url);
    const res = await slow;
    assert.equal(res.status, 504);
    assert.match(res.body, /Gateway Timeout/);
    assert.ok(res.ms >= 950 && res.ms < 4000, `answered after ${res.ms} ms`);
    const next = await queued;
    assert.equal(next.status, 200, 'the worker goes on serving');
    await server.waitFor(/request t1 aborted: RequestTimeoutError: the request ran longer than --request-timeout 1s/);
    const pid = next.body.replace('hello ', '');
    assert.match(server.output(), new RegExp(`\\[tsgi:error\\] \\[pid ${pid}\\] \\[rid [^\\]]+\\] request timed out after 1s \\(request_timeout\\) in worker ${pid}: GET /slow\\?ms=20000&tag=t1; answered 504`));
    assert.doesNotMatch(server.output(), /died|AbortError|Error: .*RequestTimeout.*\n\s+at /);
    // Counted, once, wherever the server shows its figures (the count reaches the master with the worker's next heartbeat).
    const status = await readStatusUntil(server.url, (s) => s.json.requestTimeouts > 0);
    assert.equal(status.json.requestTimeouts, 1);
    assert.equal(status.json.workers[0].requestTimeouts, 1);
    assert.equal(status.auto.get('RequestTimeouts'), '1');
    assert.equal(status.summary('504s (--request-timeout)'), '1');
    assert.equal((await scrape(metricsUrl(server))).value('tsgi_request_timeouts_total'), 1);
  });

  it('TSGI: a response that has started is cut off, and its signal aborts', async () => {
    const server = await startServer([APP, '--request-timeout', '1']);
    const got = await rawGet(server, '/stream-then-hang');
    assert.match(got.text, /^HTTP\/1\.1 200 OK\r\n[^]*started \d+/);
    assert.doesNotMatch(got.text, /\r\n0\r\n\r\n$/, 'the chunked body was terminated as if complete');
    assert.ok(got.ms >= 950 && got.ms < 4000, `cut off after ${got.ms} ms`);
    await server.waitFor(/stream aborted: RequestTimeoutError/);
    assert.match(server.output(), /request timed out after 1s \(request_timeout\) in worker \d+: GET \/stream-then-hang; its response had started: connection aborted/);
    assert.equal((await timed(server.url)).status, 200);
  });

  it('fetch: 504, and Request.signal aborts', async () => {
    const server = await startServer([fixture('slow-fetch.ts'), '--request-timeout', '1']);
    const res = await timed(`${server.url}?ms=20000`);
    assert.equal(res.status, 504);
    await server.waitFor(/fetch request aborted: RequestTimeoutError/);
    assert.match(server.output(), /request timed out after 1s \(request_timeout\) in worker \d+: GET \/\?ms=20000; answered 504/);
  });

  it('node (req, res): 504, and the app sees close on req', async () => {
    const server = await startServer([fixture('slow-node.ts'), '--request-timeout', '1']);
    const res = await timed(`${server.url}?ms=20000`);
    assert.equal(res.status, 504);
    await server.waitFor(/node req close; answered by the server: true/);
    assert.equal((await timed(`${server.url}?ms=1`)).status, 200);
  });

  it('the application in docs/tsgi.md ("Request timeout") is answered 504 and stops its work', async () => {
    const doc = await readFile(path.join(ROOT, 'docs/tsgi.md'), 'utf8');
    const code = /## Request timeout[^]*?```ts\n([^]*?)```/.exec(doc)?.[1];
    assert.ok(code, 'no example under "## Request timeout"');
    const dir = await mkdtemp(path.join(tmpdir(), 'tsgi-doc-timeout-'));
    tempDirs.push(dir);
    await writeFile(path.join(dir, 'app.ts'), code);
    const server = await startServer([path.join(dir, 'app.ts'), '--request-timeout', '1']);
    const res = await timed(server.url);
    assert.equal(res.status, 504);
    await server.waitFor(/after the request timed out: AbortError/, 5000).catch(() => {}); // logged at debug only
    assert.doesNotMatch(server.output(), /\[tsgi:error\].*AbortError/);
  });

  it('a request that finishes in time is not touched, and 0 turns the timeout off', async () => {
    const server = await startServer([APP, '--request-timeout', '0']);
    const res = await timed(`${server.url}slow?ms=1500&tag=t2`);
    assert.equal(res.status, 200);
    assert.doesNotMatch(server.output(), /timed out|aborted/);
  });
});

/** Threads of process `pid` (Linux /proc). */
function threadsOf(pid: number): number {
  return Number(/^Threads:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

describe('--deadlock-timeout', { timeout: 150_000 }, () => {
  for (const processes of ['2', '1']) {
    it(`a worker stuck in while (true) is replaced: its stack is logged, then it is killed; no other client fails or hangs (--processes ${processes})`, async () => {
      const server = await startServer([APP, '--processes', processes, '--deadlock-timeout', '2', '--server-status', '--metrics-port', '0']);
      const t0 = performance.now();
      const spin = request(`${server.url}spin`, { headersTimeout: 30_000 }).then(
        (r) => r.body.text().then(() => `status ${r.statusCode}`),
        (err: { code?: string }) => err.code ?? 'error',
      );
      // From here on the stuck worker takes no connection: each goes to another worker,
      // or (one worker) waits in the master's socket for the replacement.
      await server.waitFor(/spinning in \d+/);
      const load = new Load(server.url, { loops: 3, keepAlive: false, maxMs: 40_000, hangMs: 20_000 });
      await server.waitFor(/worker (\d+) has not answered the master's heartbeat for [\d.]+s \(deadlock_timeout, --deadlock-timeout 2\): its event loop is blocked; its replacement is starting/, 20_000);
      const stack = await server.waitFor(/worker (\d+) was stuck here \(deadlock_timeout\):\n(.*\n){2}/, 10_000);
      await server.waitFor(/worker \d+ killed \(deadlock_timeout\)/, 10_000);
      // In flight on the stuck worker: cut off, not left hanging.
      assert.match(await spin, /UND_ERR_SOCKET|ECONNRESET/);
      assert.ok(performance.now() - t0 < 15_000);
      // Source-mapped to the app's own .ts lines: the loop, and the call to it.
      assert.match(stack[0], /at spinForever \(\S*test\/fixtures\/supervised-app\.ts:75:\d+\)/);
      assert.match(stack[0], /at application \(\S*test\/fixtures\/supervised-app\.ts:65:\d+\)/);
      await sleep(1000); // the replacement serves
      const result = await load.stop();
      assert.equal(result.hung, 0, result.errors.join('\n'));
      assert.equal(result.failed, 0, result.errors.join('\n'));
      assert.ok(result.ok > 0);
      assert.equal(childrenRunning(server.pid, 'worker/main.js').length, Number(processes));
      assert.doesNotMatch(server.output(), /died/);
      // Counted as a restart for deadlock_timeout (not a crash) on the status page and in the metrics.
      const status = await readStatus(server.url);
      assert.deepEqual(status.json.restarts, { crashed: 0, deadlock_timeout: 1 });
      assert.equal(status.auto.get('Restarts_deadlock_timeout'), '1');
      assert.equal(status.auto.get('Restarts_crashed'), '0');
      assert.equal(status.count('deadlock_timeout (restart)'), 1);
      const x = await scrape(metricsUrl(server));
      assert.equal(x.value('tsgi_worker_restarts_total', { reason: 'deadlock_timeout' }), 1);
      assert.equal(x.value('tsgi_worker_restarts_total', { reason: 'crashed' }), 0);
    });
  }

  it('the watchdog thread is there only when --deadlock-timeout is given; 0 turns it off', async () => {
    const given = await startServer([APP, '--deadlock-timeout', '60']);
    const byDefault = await startServer([APP]);
    const off = await startServer([APP, '--deadlock-timeout', '0']);
    const pidOf = async (server: RunningServer) => Number((await timed(server.url)).body.replace('hello ', ''));
    const [withThread, defaultThreads, offThreads] = [threadsOf(await pidOf(given)), threadsOf(await pidOf(byDefault)), threadsOf(await pidOf(off))];
    assert.ok(withThread > offThreads, 'no watchdog thread with --deadlock-timeout 60');
    assert.equal(defaultThreads, offThreads, 'a watchdog thread at the default');
  });

  it('bad values exit 2 naming the flag', async () => {
    for (const value of ['-1', 'forever']) {
      const run = await runCli(['start-server', APP, '--deadlock-timeout', value]);
      assert.equal(run.code, 2, run.output);
      assert.match(run.output, /--deadlock-timeout (is in seconds and must be at least 0|must be a number of seconds)/);
    }
  });
});
