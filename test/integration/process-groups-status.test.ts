// The status page (--server-status) and the metrics (--metrics-path) list each process group
// beside the main pool: a --mount-app group from the start, a pattern mount's site
// (--mount-app-match) from its first request until it is stopped idle or its directory is
// removed. Its workers appear in every form: ?json, ?auto, the HTML page, and the per-worker
// metrics with a group label.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { fixture, killAll, startServer, type RunningServer } from '../helpers/server.js';
import { readStatus, readStatusUntil, type StatusForms } from '../helpers/server-status.js';
import { scrape, scrapeUntil } from '../helpers/prometheus.js';

after(killAll);

type Group = { name: string; kind: string; processes: number; workers: { pid: number; state: string }[] };

const groupsOf = (s: StatusForms): Group[] => s.json.groups as Group[];
const named = (s: StatusForms, name: string): Group | undefined => groupsOf(s).find((g) => g.name === name);

async function pidOf(url: string): Promise<number> {
  const res = await request(url, { reset: true });
  const text = await res.body.text();
  assert.equal(res.statusCode, 200, `${url}: ${text}`);
  return (JSON.parse(text) as { pid: number }).pid;
}

describe('the status page and the metrics list process groups: --mount-app groups and pattern sites', () => {
  let server: RunningServer;
  let base: string;
  let root: string;
  let sites: string;
  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'tsgi-groups-status-'));
    sites = path.join(root, 'sites');
    for (const name of ['alpha', 'beta']) {
      mkdirSync(path.join(sites, name), { recursive: true });
      writeFileSync(path.join(sites, name, 'app.ts'), readFileSync(fixture('match/site-app.ts'), 'utf8'));
    }
    server = await startServer(
      [fixture('app.ts'), '--processes', '1', '--mount-app', '/api', fixture('groups/site-app.ts'), '--mount-app-match', '^/([^/]+)', `${sites}/$1/app.ts`,
        '--match-idle-timeout', '3', '--server-status', '--metrics-path', '/metrics', '--startup-timeout', '60'],
      { readyTimeoutMs: 60_000 },
    );
    base = server.url.replace(/\/$/, '');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('a --mount-app group is listed from the start with its workers, in every form', async () => {
    const api = await pidOf(`${base}/api/`);
    const s = await readStatusUntil(server.url, (r) => named(r, '/api')?.workers.some((w) => w.pid === api && w.state === 'ready') === true);
    assert.deepEqual(groupsOf(s).map((g) => [g.name, g.kind, g.processes]), [['/api', 'group', 1]]);
    assert.ok(!s.json.workers.some((w: { pid: number }) => w.pid === api), 'a group worker is not in the main pool');
    assert.match([...s.auto.entries()].map(([k, v]) => `${k}: ${v}`).join('\n'), /^Group: \/api kind=group processes=1 threads=100 generation=1 requests=\d+ workers=1$/m);
    assert.match(s.html, new RegExp(`<h3>Process group /api</h3>[^]*<table class="group-workers" data-group="/api">[^]*<tr><td>${api}</td>`));
    const m = await scrape(`${base}/metrics`);
    assert.equal(m.value('tsgi_group_workers', { group: '/api', kind: 'group', state: 'ready' }), 1);
    assert.ok(m.value('tsgi_worker_requests_total', { pid: String(api), group: '/api' })! >= 1);
  });

  it('a pattern site appears when its first request starts it, and is gone once stopped idle', async () => {
    assert.equal(named(await readStatus(server.url), '/alpha'), undefined);
    const alpha = await pidOf(`${base}/alpha/`);
    const s = await readStatusUntil(server.url, (r) => named(r, '/alpha')?.workers.some((w) => w.pid === alpha) === true);
    assert.equal(named(s, '/alpha')!.kind, 'pattern');
    assert.ok(s.html.includes(`data-group="/alpha"`));
    const raw = await request(`${base}/server-status?auto`).then((r) => r.body.text());
    assert.match(raw, new RegExp(`^GroupWorker: group=/alpha pid=${alpha} generation=1 state=ready `, 'm'));
    const m = await scrapeUntil(`${base}/metrics`, (x) => x.value('tsgi_worker_requests_total', { pid: String(alpha), group: '/alpha' }) !== undefined);
    assert.equal(m.value('tsgi_group_workers', { group: '/alpha', kind: 'pattern', state: 'ready' }), 1);
    // Stopped after --match-idle-timeout 3: gone from the page and the metrics.
    const gone = await readStatusUntil(server.url, (r) => named(r, '/alpha') === undefined, 20_000);
    assert.equal(named(gone, '/alpha'), undefined, 'the idle site is still listed');
    assert.ok(named(gone, '/api'));
    const later = await scrape(`${base}/metrics`);
    assert.equal(later.all('tsgi_group_workers').some((x) => x.labels.group === '/alpha'), false);
    assert.equal(later.value('tsgi_worker_requests_total', { pid: String(alpha) }), undefined);
  });

  it('a pattern site whose directory is removed is gone from the list', async () => {
    const beta = await pidOf(`${base}/beta/`);
    await readStatusUntil(server.url, (r) => named(r, '/beta')?.workers.some((w) => w.pid === beta) === true);
    const from = server.output().length;
    rmSync(path.join(sites, 'beta'), { recursive: true });
    await server.waitFor(/process group \/beta: stopping \(its script is gone\)/, 15_000, from);
    const s = await readStatus(server.url);
    assert.equal(named(s, '/beta'), undefined);
    assert.equal((await scrape(`${base}/metrics`)).all('tsgi_group_workers').some((x) => x.labels.group === '/beta'), false);
  });
});
