// --health-check-path and --drain-delay (issue 21): the health path answered by
// the server itself (503 starting, 200 ready, 503 draining), before host names
// and access control, and SIGTERM with a drain delay: serving on while the
// health path says 503, then a graceful stop; a second SIGTERM cuts it short.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { fixture, killAll, startServer } from '../helpers/server.js';

const APP = fixture('supervised-app.ts');
let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tsgi-health-'));
});
after(async () => {
  killAll();
  await rm(dir, { recursive: true, force: true });
});

async function get(url: string, opts: { method?: 'GET' | 'HEAD' | 'POST'; headers?: Record<string, string> } = {}) {
  const res = await request(url, { method: opts.method ?? 'GET', headers: opts.headers, reset: true, body: opts.method === 'POST' ? 'x' : undefined });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('--health-check-path and --drain-delay', { timeout: 180_000 }, () => {
  it('200 ready, for any Host and without credentials; GET and HEAD only; the app keeps other paths', async () => {
    const users = path.join(dir, 'htpasswd');
    await writeFile(users, 'admin:{SHA}0DPiKuNIrrVmD8IUCuw1hQxNqZc=\n');
    const server = await startServer([APP, '--health-check-path', '/healthz', '--server-name', 'www.example.com', '--auth-user-file', users]);
    const base = `http://127.0.0.1:${server.port}/`;
    const ok = await get(`${base}healthz`, { headers: { Host: 'probe.internal:1' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'ready\n');
    assert.equal(ok.headers['cache-control'], 'no-store');
    assert.equal((await get(`${base}healthz?from=lb`)).status, 200);
    const head = await get(`${base}healthz`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal((await get(`${base}healthz`, { method: 'POST' })).status, 405);
    // Everything else goes through host names and authentication as before.
    assert.equal((await get(`${base}healthzz`, { headers: { Host: 'www.example.com' } })).status, 401);
    assert.equal((await get(`${base}healthz/more`, { headers: { Host: 'www.example.com' } })).status, 401);
  });

  it('503 starting until every worker of the first generation is ready', async () => {
    const port = await freePort();
    const env = { ONE_LOADS_SLOWLY_MARKER: path.join(dir, 'first-loaded'), SLOW_LOAD_MS: '5000' };
    const starting = startServer([fixture('one-loads-slowly.ts'), '--processes', '2', '--health-check-path', '/healthz'], { port, env });
    starting.catch(() => {});
    // The fast worker answers while the slow one still loads.
    let first: { status: number; body: string } | undefined;
    for (let i = 0; i < 200 && !first; i++) {
      first = await get(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      if (!first) await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(first && { status: first.status, body: first.body }, { status: 503, body: 'starting\n' });
    assert.equal((await get(`http://127.0.0.1:${port}/`)).status, 200, 'the app is served meanwhile');
    const server = await starting;
    assert.deepEqual(await get(`${server.url}healthz`).then((r) => [r.status, r.body]), [200, 'ready\n']);
  });

  it('SIGTERM with --drain-delay: 503 draining, requests still served, then a graceful stop', async () => {
    const server = await startServer([APP, '--processes', '2', '--health-check-path', '/healthz', '--drain-delay', '3']);
    assert.equal((await get(`${server.url}healthz`)).status, 200);
    const t0 = Date.now();
    server.signal('SIGTERM');
    await server.waitFor(/SIGTERM received: serving 3s more \(--drain-delay\)/);
    for (let i = 0; i < 4; i++) {
      const health = await get(`${server.url}healthz`);
      assert.deepEqual([health.status, health.body], [503, 'draining\n']);
      assert.equal((await get(server.url)).status, 200);
    }
    // A request still running when the delay ends is finished before the stop.
    const slow = get(`${server.url}slow?ms=2500&tag=late`);
    await server.waitFor(/request late started/);
    const { code } = await server.exited();
    assert.equal(code, 0);
    assert.equal((await slow).status, 200);
    assert.ok(Date.now() - t0 >= 2900, `stopped after ${Date.now() - t0} ms`);
    assert.match(server.output(), /--drain-delay 3s over: stopping gracefully/);
  });

  it('a second SIGTERM ends the delay at once; without the health path the delay still holds', async () => {
    const server = await startServer([APP, '--drain-delay', '120']);
    const t0 = Date.now();
    server.signal('SIGTERM');
    await server.waitFor(/serving 120s more/);
    assert.equal((await get(server.url)).status, 200);
    server.signal('SIGTERM');
    assert.equal((await server.exited()).code, 0);
    assert.ok(Date.now() - t0 < 60_000);
    assert.match(server.output(), /a second SIGTERM: stopping gracefully/);
  });
});
