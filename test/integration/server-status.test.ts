// --server-status (issue 21): the page the server answers itself, in headless
// Chromium (worker data escaped, the page refreshing itself), its ?auto and ?json
// forms with the figures of the whole pool, who may see it (loopback, the
// forwarded client behind a trusted proxy, --server-status-allow, site
// authentication), and where it sits beside --mount-point.
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { renderedDom, skipWithoutChromium, title } from '../helpers/chromium.js';
import { fixture, killAll, runCli, startServer, type RunningServer } from '../helpers/server.js';

const APP = fixture('supervised-app.ts');
let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tsgi-status-'));
});
after(async () => {
  killAll();
  await rm(dir, { recursive: true, force: true });
});

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { headers, reset: true });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** A raw request (a target no client library would send unencoded); resolves with the response once the server closes. */
function rawRequest(port: number, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let data = '';
    socket.on('data', (d) => (data += d));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

/** Distinct pids answering `/` (the fixture answers `hello PID`). */
async function pidsServing(server: RunningServer, n: number): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let i = 0; i < 40 && pids.size < n; i++) pids.add(Number((await get(server.url)).body.replace('hello ', '')));
  return pids;
}

describe('--server-status', { timeout: 300_000 }, () => {
  it('?json and ?auto: uptime, generation, every worker with its figures, totals of the whole pool', async () => {
    const server = await startServer([APP, '--processes', '2', '--server-status']);
    const pids = await pidsServing(server, 2);
    for (let i = 0; i < 8; i++) assert.equal((await get(server.url)).status, 200);
    const json = await get(`${server.url}server-status?json`);
    assert.equal(json.status, 200);
    assert.match(String(json.headers['content-type']), /application\/json/);
    const s = JSON.parse(json.body);
    assert.equal(s.generation, 1);
    assert.equal(s.phase, 'serving');
    assert.equal(s.masterPid, server.pid);
    assert.ok(s.uptime > 0 && s.uptime < 120, String(s.uptime));
    assert.deepEqual(new Set(s.workers.map((w: { pid: number }) => w.pid)), pids);
    // Asked afresh: every request answered so far is counted, across both workers.
    const served = s.workers.reduce((n: number, w: { requests: number }) => n + w.requests, 0);
    assert.ok(served >= 8 + pids.size, `served ${served}`);
    assert.equal(s.requests, served);
    for (const w of s.workers) {
      assert.equal(w.state, 'ready');
      assert.equal(w.inFlight, 0);
      assert.equal(w.queued, 0);
      assert.ok(w.rss > 10 * 1048576, `rss ${w.rss}`);
      assert.ok(w.cpuSeconds > 0);
      assert.ok(w.age > 0);
      assert.equal(w.lastRecycle, null);
    }
    assert.deepEqual(s.recycles, { maximum_requests: 0, restart_interval: 0, inactivity_timeout: 0, cpu_time_limit: 0, memory_limit: 0 });
    assert.equal(s.queueTimeouts, 0);

    const auto = await get(`${server.url}server-status?auto`);
    assert.match(String(auto.headers['content-type']), /text\/plain/);
    const fields = new Map(auto.body.split('\n').filter((l) => l.includes(': ')).map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
    assert.match(fields.get('ServerVersion')!, /^tsgi-express\/\d/);
    assert.ok(Number(fields.get('ServerUptimeSeconds')) >= 0);
    assert.ok(Number(fields.get('Total Accesses')) >= served);
    assert.equal(fields.get('Generation'), '1');
    assert.equal(fields.get('BusyWorkers'), '0');
    assert.equal(fields.get('IdleWorkers'), '200');
    assert.equal(fields.get('Scoreboard'), '_'.repeat(200));
    const workerLines = auto.body.split('\n').filter((l) => l.startsWith('Worker: '));
    assert.equal(workerLines.length, 2);
    for (const pid of pids) assert.ok(workerLines.some((l) => l.includes(`pid=${pid} `)), auto.body);
  });

  it('in Chromium: the worker table with a hostile request target as text, and the page refreshing itself', { skip: skipWithoutChromium }, async () => {
    const server = await startServer([APP, '--server-status', '--access-log']);
    // A request that stays in flight with markup in its target: the page shows what each worker runs longest.
    const hostile = `/slow?ms=60000&tag=hostile&x=<img%20src=x%20onerror="document.title='injected'">`;
    const pending = rawRequest(server.port, hostile);
    pending.catch(() => {});
    await server.waitFor(/request hostile started/);
    const dom = await renderedDom(`${server.url}server-status`, dir);
    assert.equal(title(dom), 'Server status: 127.0.0.1');
    assert.doesNotMatch(dom, /<img/);
    const rows = /<table id="workers">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(dom)?.[1] ?? '';
    assert.equal(rows.match(/<tr>/g)?.length, 1, rows);
    assert.ok(rows.includes(`GET /slow?ms=60000&amp;tag=hostile&amp;x=&lt;img%20src=x%20onerror="document.title='injected'"&gt;`), rows);
    assert.match(dom, /<meta http-equiv="refresh" content="5">/);

    // ?refresh=1: Chromium, given 2.5 s of virtual time, loads the page again by itself.
    const before = (server.output().match(/"GET \/server-status\?refresh=1 /g) ?? []).length;
    await renderedDom(`${server.url}server-status?refresh=1`, dir, 2500);
    await server.waitFor(/(?:"GET \/server-status\?refresh=1 [\s\S]*){2}/, 10_000);
    assert.equal(before, 0);
  });

  it('loopback clients only; behind a trusted proxy the forwarded client counts; --server-status-allow widens it', async () => {
    const server = await startServer([APP, '--server-status', '--trust-proxy-header', 'X-Forwarded-For', '--trust-proxy', '127.0.0.1']);
    assert.equal((await get(`${server.url}server-status?auto`)).status, 200);
    // A remote client whose request the proxy on this machine forwards is no loopback client.
    const forwarded = await get(`${server.url}server-status?auto`, { 'X-Forwarded-For': '203.0.113.9' });
    assert.equal(forwarded.status, 403);
    assert.equal((await get(server.url, { 'X-Forwarded-For': '203.0.113.9' })).status, 200);
    await server.waitFor(/403 for 203\.0\.113\.9: \/server-status is for loopback clients/);

    const widened = await startServer([APP, '--server-status', '--server-status-allow', '203.0.113.0/24', '--trust-proxy-header', 'X-Forwarded-For', '--trust-proxy', '127.0.0.1']);
    assert.equal((await get(`${widened.url}server-status?auto`, { 'X-Forwarded-For': '203.0.113.9' })).status, 200);
    assert.equal((await get(`${widened.url}server-status?auto`, { 'X-Forwarded-For': '198.51.100.1' })).status, 403);
    assert.equal((await request(`${widened.url}server-status`, { method: 'POST', body: 'x' })).statusCode, 405);
  });

  it('site authentication applies to it, as in mod_wsgi-express', async () => {
    const users = path.join(dir, 'htpasswd');
    await writeFile(users, 'admin:{SHA}0DPiKuNIrrVmD8IUCuw1hQxNqZc=\n'); // admin:admin
    const server = await startServer([APP, '--server-status', '--auth-user-file', users]);
    assert.equal((await get(`${server.url}server-status`)).status, 401);
    const ok = await get(`${server.url}server-status?json`, { Authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` });
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).workers.length, 1);
  });

  it('at the root of the site whatever the mount point; the app keeps its own paths', async () => {
    const app = path.join(dir, 'echo.ts');
    await writeFile(app, `export function application(e: any, sr: any) { sr('200 OK', [['Content-Type', 'text/plain']]); return [e.SCRIPT_NAME + '|' + e.PATH_INFO]; }\n`);
    const server = await startServer([app, '--server-status', '--mount-point', '/app']);
    assert.equal((await get(`${server.url}server-status?auto`)).status, 200);
    assert.equal((await get(`${server.url}app/server-status`)).body, '/app|/server-status');
    assert.equal((await get(`${server.url}elsewhere`)).status, 404);
  });

  it('bad input exits 2 naming the flag', async () => {
    const cases: [string[], RegExp][] = [
      [['--server-status', '--mount-point', '/server-status'], /--mount-point \/server-status clashes with --server-status/],
      [['--server-status', '--mount-point', '/server-status/app'], /--mount-point \/server-status\/app clashes with --server-status/],
      [['--server-status-allow', '10.0.0.0/8'], /--server-status-allow needs --server-status or --metrics-path/],
      [['--server-status', '--server-status-allow', '10.0.0.0/33'], /--server-status-allow must be an IP address or CIDR block/],
      [['--metrics-path', 'metrics'], /--metrics-path must be a URL path starting with \//],
      [['--metrics-path', '/m', '--mount-point', '/m'], /--mount-point \/m clashes with --metrics-path/],
      [['--metrics-path', '/m', '--metrics-port', '9999'], /--metrics-port and --metrics-path .* give one/],
      [['--metrics-port', '8000'], /--metrics-port 8000 is the --port already/],
      [['--metrics-port', '70000'], /--metrics-port must be at most 65535/],
      [['--metrics-port', '9100.5'], /--metrics-port must be an integer \(got "9100\.5"\)/],
      [['--metrics-port', 'prometheus'], /--metrics-port must be an integer \(got "prometheus"\)/],
      [['--health-check-path', 'healthz'], /--health-check-path must be a URL path starting with \/ \(no \? or #\) \(got "healthz"\)/],
      [['--server-status', '--health-check-path', '/server-status'], /--health-check-path \/server-status is the path of --server-status already/],
      [['--health-check-path', '/healthz', '--mount-point', '/healthz'], /--mount-point \/healthz clashes with --health-check-path/],
      [['--drain-delay', '-1'], /--drain-delay is in seconds and must be at least 0/],
    ];
    for (const [args, re] of cases) {
      const { code, output } = await runCli(['start-server', APP, ...args]);
      assert.equal(code, 2, `${args.join(' ')}: ${output}`);
      assert.match(output, re);
    }
  });
});
