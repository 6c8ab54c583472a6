// Prometheus metrics (issue 21): scraped from --metrics-port (a listener of its
// own) and --metrics-path (the main port, the status page's access rule), parsed
// strictly (test/helpers/prometheus.ts), and checked against what the test sent:
// counters of the whole server that keep counting across recycles, the duration
// histogram, in flight and queued, queue timeouts, restarts and recycles by
// reason, RSS and event-loop delay per worker.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { metricsUrl, scrape, scrapeUntil, type Exposition } from '../helpers/prometheus.js';
import { readStatus } from '../helpers/server-status.js';
import { fixture, killAll, startServer } from '../helpers/server.js';

const siteRoot = mkdtempSync(path.join(tmpdir(), 'tsgi-metrics-site-'));
writeFileSync(path.join(siteRoot, 'page.txt'), 'a static page\n');
writeFileSync(path.join(siteRoot, '.env'), 'hidden\n');

after(() => {
  killAll();
  rmSync(siteRoot, { recursive: true, force: true });
});

const APP = fixture('supervised-app.ts');

async function get(url: string, opts: { method?: 'GET' | 'POST'; headers?: Record<string, string> } = {}) {
  const res = await request(url, { method: opts.method ?? 'GET', headers: opts.headers, reset: true, body: opts.method === 'POST' ? 'x' : undefined });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

describe('metrics', { timeout: 180_000 }, () => {
  it('--metrics-port: counts by method and status class, the histogram, per-worker gauges; counters survive recycles', async () => {
    const server = await startServer([APP, '--processes', '2', '--maximum-requests', '25', '--metrics-port', '0', '--server-status']);
    const readyAt = performance.now();
    const url = metricsUrl(server);
    assert.notEqual(new URL(url).port, String(server.port));
    // Requests until three workers have recycled (one recycles at a time; the next waits its turn, serving).
    const recycled = (e: Exposition) => e.value('tsgi_worker_recycles_total', { reason: 'maximum_requests' }) ?? 0;
    let gets = 0;
    for (let round = 0; round < 24; round++) {
      for (let i = 0; i < 25; i++, gets++) assert.equal((await get(server.url)).status, 200);
      if (recycled(await scrape(url)) >= 3) break;
    }
    for (let i = 0; i < 5; i++) assert.equal((await get(server.url, { method: 'POST' })).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await get(`${server.url}%zz`)).status, 400);
    const x = await scrapeUntil(url, (e) => recycled(e) >= 3 && e.value('tsgi_workers', { state: 'draining' }) === 0 && e.value('tsgi_workers', { state: 'ready' }) === 2);
    assert.ok(recycled(x) >= 3, server.output());
    // Every request counted once, though the workers that served most of them are gone.
    assert.equal(x.value('tsgi_requests_total', { method: 'GET', code: '2xx' }), gets);
    assert.equal(x.value('tsgi_requests_total', { method: 'POST', code: '2xx' }), 5);
    assert.equal(x.value('tsgi_requests_total', { method: 'GET', code: '4xx' }), 3);
    assert.equal(x.value('tsgi_request_duration_seconds_count'), gets + 8);
    assert.ok(x.value('tsgi_request_duration_seconds_sum')! > 0);
    assert.equal(x.types.get('tsgi_request_duration_seconds'), 'histogram');
    assert.equal(x.types.get('tsgi_requests_total'), 'counter');
    assert.equal(x.value('tsgi_worker_recycles_total', { reason: 'memory_limit' }), 0);
    assert.equal(x.value('tsgi_worker_restarts_total', { reason: 'crashed' }), 0);
    assert.equal(x.value('tsgi_requests_in_flight'), 0);
    assert.equal(x.value('tsgi_requests_queued'), 0);
    assert.equal(x.value('tsgi_up'), 1);
    assert.equal(x.value('tsgi_workers', { state: 'ready' }), 2);
    const rss = x.all('tsgi_worker_resident_memory_bytes');
    assert.equal(rss.length, 2);
    for (const s of rss) assert.ok(s.value > 10 * 1048576 && Number(s.labels.pid) > 0);
    const delays = x.all('tsgi_worker_event_loop_delay_seconds');
    assert.deepEqual(new Set(delays.map((d) => d.labels.pid)), new Set(rss.map((r) => r.labels.pid)));
    assert.deepEqual(new Set(delays.map((d) => d.labels.stat)), new Set(['mean', 'p99', 'max']));
    for (const d of delays) assert.ok(d.value >= 0 && d.value < 5, `${d.value}`);


    // The same recycles on /server-status, in its three forms: counted by reason, each
    // replacement naming the recycle it replaced, and the request rate of the last seconds.
    const recycles = recycled(x);
    const statusAt = performance.now();
    const status = await readStatus(server.url);
    assert.ok(status.json.recycles.maximum_requests >= recycles, JSON.stringify(status.json.recycles));
    assert.ok(Number(status.auto.get('Recycles_maximum_requests')) >= recycles, status.auto.get('Recycles_maximum_requests'));
    assert.ok(status.count('maximum_requests')! >= recycles, status.html);
    assert.equal(status.json.recycles.memory_limit, 0);
    const replacements = status.json.workers.filter((w: { lastRecycle: { reason: string; pid: number } | null }) => w.lastRecycle);
    assert.ok(replacements.length >= 1, JSON.stringify(status.json.workers));
    for (const w of replacements) {
      assert.equal(w.lastRecycle.reason, 'maximum_requests');
      // Being recycled now: its own pid; else the pid of the worker it replaced, which the log says was recycled.
      if (w.state === 'recycling') assert.equal(w.lastRecycle.pid, w.pid);
      else assert.match(server.output(), new RegExp(`Recycling worker ${w.lastRecycle.pid} \\(maximum_requests: `));
    }
    assert.ok(status.autoWorkers.some((l) => l.endsWith(' last_recycle=maximum_requests')), status.autoWorkers.join('\n'));
    assert.match(status.html, /<td class="text">maximum_requests \((replaced \d+|now)\)<\/td>/);
    // Several hundred requests in the last few seconds: the rate is above nothing, and below what was
    // sent (and the status page's own requests) over the shortest span the server can have counted
    // them in, from Ready to this read: on a fast machine all of it takes less than a second.
    const perSecond = status.json.requestsPerSecond;
    const most = (gets + 8 + 3) / Math.min(1, (statusAt - readyAt) / 1000);
    assert.ok(perSecond > 0 && perSecond <= most, `requestsPerSecond ${perSecond} (at most ${most})`);
    assert.ok(Number(status.auto.get('ReqPerSec')) > 0, status.auto.get('ReqPerSec'));
    assert.ok(Number(status.summary('Requests per second')) > 0, status.html);

    assert.equal((await get(url.replace(/metrics$/, 'other'))).status, 404);
    assert.equal((await request(url, { method: 'POST', body: 'x' })).statusCode, 405);
  });

  it('in flight, queued, 503s from the queue and a crashed worker, as they happen', async () => {
    const server = await startServer([APP, '--threads', '1', '--queue-timeout', '1', '--metrics-port', '0']);
    const url = metricsUrl(server);
    const response = get(`${server.url}slow?ms=6000&tag=q1`);
    await server.waitFor(/request q1 started/);
    const queued = get(server.url);
    const during = await scrapeUntil(url, (e) => e.value('tsgi_requests_queued') === 1);
    assert.equal(during.value('tsgi_requests_in_flight'), 1);
    assert.equal(during.value('tsgi_requests_queued'), 1);
    assert.equal((await queued).status, 503);
    assert.equal((await response).status, 200);
    const x = await scrape(url);
    assert.equal(x.value('tsgi_queue_timeouts_total'), 1);
    assert.equal(x.value('tsgi_requests_total', { method: 'GET', code: '5xx' }), 1);

    const [pid] = x.all('tsgi_worker_resident_memory_bytes').map((s) => Number(s.labels.pid));
    process.kill(pid!, 'SIGKILL');
    const after = await scrapeUntil(url, (e) => e.value('tsgi_worker_restarts_total', { reason: 'crashed' }) === 1 && e.value('tsgi_workers', { state: 'ready' }) === 1);
    assert.equal(after.value('tsgi_worker_restarts_total', { reason: 'crashed' }), 1);
    assert.equal(after.value('tsgi_queue_timeouts_total'), 1, 'the dead worker\'s counts stay');
    assert.notEqual(after.all('tsgi_worker_resident_memory_bytes')[0]!.labels.pid, String(pid));
  });

  it('static files are counted as the app\'s requests are: --metrics-path and --server-status', async () => {
    const server = await startServer([APP, '--document-root', siteRoot, '--metrics-path', '/_metrics', '--server-status']);
    const page = `${server.url}page.txt`;
    const first = await get(page);
    assert.equal(first.body, 'a static page\n', 'served from the document root, not the app');
    for (let i = 0; i < 3; i++) assert.equal((await get(page)).status, 200);
    assert.equal((await request(page, { method: 'HEAD', reset: true })).statusCode, 200);
    assert.equal((await get(page, { headers: { 'If-None-Match': String(first.headers.etag) } })).status, 304);
    assert.equal((await get(`${server.url}.env`)).status, 404);
    assert.equal((await get(page, { method: 'POST' })).status, 405);
    const x = await scrape(`${server.url}_metrics`);
    assert.equal(x.value('tsgi_requests_total', { method: 'GET', code: '2xx' }), 4);
    assert.equal(x.value('tsgi_requests_total', { method: 'HEAD', code: '2xx' }), 1);
    assert.equal(x.value('tsgi_requests_total', { method: 'GET', code: '3xx' }), 1);
    assert.equal(x.value('tsgi_requests_total', { method: 'GET', code: '4xx' }), 1);
    assert.equal(x.value('tsgi_requests_total', { method: 'POST', code: '4xx' }), 1);
    assert.equal(x.value('tsgi_request_duration_seconds_count'), 8);
    // The status page: the same requests, plus the scrape.
    const status = JSON.parse((await get(`${server.url}server-status?json`)).body) as { requests: number };
    assert.equal(status.requests, 9);
  });

  it('--metrics-path: on the main port, for loopback clients and --server-status-allow, behind authentication', async () => {
    const server = await startServer([APP, '--metrics-path', '/_metrics', '--trust-proxy-header', 'X-Forwarded-For', '--trust-proxy', '127.0.0.1', '--server-status-allow', '198.51.100.0/24']);
    assert.equal((await get(server.url)).status, 200);
    const x = await scrape(`${server.url}_metrics`);
    assert.ok(x.value('tsgi_requests_total', { method: 'GET', code: '2xx' })! >= 1);
    assert.equal((await get(`${server.url}_metrics`, { headers: { 'X-Forwarded-For': '203.0.113.9' } })).status, 403);
    assert.equal((await get(`${server.url}_metrics`, { headers: { 'X-Forwarded-For': '198.51.100.4' } })).status, 200);
    assert.doesNotMatch(server.output(), /Server Status/);
  });
});
