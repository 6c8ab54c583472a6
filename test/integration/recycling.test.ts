// Recycling (issue 21): each trigger drives a real, rolling recycle under continuous
// load, with zero failed requests; one worker recycles at a time; each recycle is
// logged with mod_wsgi's name for its reason and counted.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { PoolReport } from '../../src/ipc/messages.js';
import { Load, type LoadResult } from '../helpers/load.js';
import { fixture, killAll, runCli, startServer, type RunningServer } from '../helpers/server.js';

after(() => killAll());

const APP = fixture('supervised-app.ts');

/** Runs keep-alive and new-connection load against `path` until `done` resolves; every failure counts. */
async function underLoad(server: RunningServer, path: string, done: () => Promise<unknown>): Promise<LoadResult> {
  const url = `${server.url}${path.replace(/^\//, '')}`;
  const loads = [
    new Load(url, { loops: 3, keepAlive: true, maxMs: 45_000, hangMs: 10_000 }),
    new Load(url, { loops: 2, keepAlive: false, maxMs: 45_000, hangMs: 10_000 }),
  ];
  try {
    await done();
    await sleep(300); // and a little after the old worker was told to drain
  } finally {
    var results = await Promise.all(loads.map((l) => l.stop()));
  }
  const total: LoadResult = { ok: 0, failed: 0, hung: 0, errors: [], bodies: new Set() };
  for (const r of results) {
    total.ok += r.ok;
    total.failed += r.failed;
    total.hung += r.hung;
    total.errors.push(...r.errors);
    for (const b of r.bodies) total.bodies.add(b);
  }
  return total;
}

function count(text: string, re: RegExp): number {
  return text.match(new RegExp(re.source, 'g'))?.length ?? 0;
}

/** "Recycling worker N" and "worker N recycled" lines strictly alternate: never two recycles at once. */
function assertOneAtATime(output: string): void {
  const events = [...output.matchAll(/Recycling worker (\d+) \(|worker (\d+) recycled \(/g)].map((m) => (m[1] ? `start ${m[1]}` : `end ${m[2]}`));
  for (let i = 0; i < events.length; i++) {
    const expected = i % 2 === 0 ? 'start' : 'end';
    assert.ok(events[i]!.startsWith(expected), `recycles overlap: ${events.join(', ')}`);
    if (expected === 'end') assert.equal(events[i]!.slice(4), events[i - 1]!.slice(6), `recycles overlap: ${events.join(', ')}`);
  }
}

async function pidsServing(server: RunningServer, n: number): Promise<Set<string>> {
  const pids = new Set<string>();
  for (let i = 0; i < 40 && pids.size < n; i++) {
    const body = await request(server.url, { reset: true }).then((r) => r.body.text());
    pids.add(body.replace('hello ', ''));
  }
  return pids;
}

async function recycled(server: RunningServer, reason: string, times = 1, ms = 20_000): Promise<void> {
  const re = new RegExp(`worker \\d+ recycled \\(${reason}\\): worker \\d+ serves in its place`, 'g');
  const end = Date.now() + ms;
  while (count(server.output(), re) < times) {
    if (Date.now() > end) assert.fail(`fewer than ${times} ${reason} recycles; output:\n${server.output()}`);
    await sleep(50);
  }
}

describe('recycling triggers', { timeout: 300_000 }, () => {
  it('--maximum-requests: rolling, one worker at a time, zero failed requests', async () => {
    const server = await startServer([APP, '--processes', '2', '--maximum-requests', '300']);
    const before = await pidsServing(server, 2);
    const result = await underLoad(server, '/', () => recycled(server, 'maximum_requests', 3, 40_000));
    assert.equal(result.failed, 0, result.errors.join('\n'));
    const out = server.output();
    assert.match(out, /Recycling worker \d+ \(maximum_requests: served 300 requests \(--maximum-requests 300\)\): starting its replacement/);
    assertOneAtATime(out);
    const after = await pidsServing(server, 2);
    assert.ok([...after].some((pid) => !before.has(pid)), 'no new worker serves');
    assert.doesNotMatch(out, /died/);
  });

  it('--maximum-requests with one worker (the master\'s own socket): the replacement takes over, zero failed requests', async () => {
    const server = await startServer([APP, '--processes', '1', '--maximum-requests', '200']);
    const result = await underLoad(server, '/', () => recycled(server, 'maximum_requests', 2, 40_000));
    assert.equal(result.failed, 0, result.errors.join('\n'));
    assertOneAtATime(server.output());
  });

  it('--maximum-requests-jitter: each worker\'s limit is its own, within the jitter', async () => {
    const server = await startServer([APP, '--processes', '2', '--maximum-requests', '100', '--maximum-requests-jitter', '100']);
    const result = await underLoad(server, '/', () => recycled(server, 'maximum_requests', 4, 40_000));
    assert.equal(result.failed, 0, result.errors.join('\n'));
    const limits = [...server.output().matchAll(/maximum_requests: served (\d+) requests/g)].map((m) => Number(m[1]));
    assert.ok(limits.every((n) => n >= 100 && n <= 200), String(limits));
    assert.ok(new Set(limits).size > 1, `every worker drew the same limit: ${limits}`);
  });

  it('--restart-interval', async () => {
    const server = await startServer([APP, '--processes', '2', '--restart-interval', '2']);
    const result = await underLoad(server, '/', () => recycled(server, 'restart_interval', 2));
    assert.equal(result.failed, 0, result.errors.join('\n'));
    assert.match(server.output(), /Recycling worker \d+ \(restart_interval: serving for [\d.]+s \(--restart-interval 2\)\)/);
    assertOneAtATime(server.output());
  });

  it('--inactivity-timeout: requests to --ignore-activity paths do not count, others do', async () => {
    const server = await startServer([APP, '--processes', '1', '--inactivity-timeout', '2', '--ignore-activity', '/health']);
    // Continuous load on the ignored path: the worker is idle all the same.
    const result = await underLoad(server, '/health', () => recycled(server, 'inactivity_timeout', 1));
    assert.equal(result.failed, 0, result.errors.join('\n'));
    assert.match(server.output(), /Recycling worker \d+ \(inactivity_timeout: idle for [\d.]+s \(--inactivity-timeout 2\)\)/);
    // Continuous load on a path that counts: no inactivity recycle for three timeouts.
    const from = count(server.output(), /recycled \(inactivity_timeout\)/g);
    const busy = await underLoad(server, '/', () => sleep(6000));
    assert.equal(busy.failed, 0);
    assert.equal(count(server.output(), /recycled \(inactivity_timeout\)/g), from, 'a busy worker was recycled as inactive');
  });

  it('--cpu-time-limit', async () => {
    const server = await startServer([APP, '--processes', '2', '--cpu-time-limit', '2']);
    const result = await underLoad(server, '/burn?ms=10', () => recycled(server, 'cpu_time_limit', 1, 60_000));
    assert.equal(result.failed, 0, result.errors.join('\n'));
    assert.match(server.output(), /Recycling worker \d+ \(cpu_time_limit: used [\d.]+s of CPU \(--cpu-time-limit 2\)\)/);
  });

  it('--memory-limit: a worker that grows past it is recycled', async () => {
    const server = await startServer([APP, '--processes', '2', '--memory-limit', '300']);
    const result = await underLoad(server, '/', async () => {
      await request(`${server.url}grow?mb=320`).then((r) => r.body.text());
      await recycled(server, 'memory_limit', 1);
    });
    assert.equal(result.failed, 0, result.errors.join('\n'));
    assert.match(server.output(), /Recycling worker \d+ \(memory_limit: RSS \d+ MB \(--memory-limit 300\)\)/);
    assert.doesNotMatch(server.output(), /below a worker's size/);
  });

  it('--memory-limit below a worker\'s start-up size: warned about, not applied', async () => {
    const server = await startServer([APP, '--processes', '1', '--memory-limit', '5']);
    await server.waitFor(/--memory-limit 5 MB is below a worker's size once it has loaded the app \(worker \d+: \d+ MB\)/);
    await sleep(2500);
    assert.doesNotMatch(server.output(), /Recycling/);
  });

  it('recycles are counted where a status page or metrics can read them', async () => {
    const server = await startServer([fixture('asks-master.ts'), '--processes', '1', '--maximum-requests', '20']);
    for (let i = 0; i < 30; i++) await request(server.url, { reset: true }).then((r) => r.body.text());
    await recycled(server, 'maximum_requests', 1);
    let pool: PoolReport | undefined;
    for (let i = 0; i < 50 && (pool?.recycles.maximum_requests ?? 0) < 1; i++) {
      pool = JSON.parse(await request(`${server.url}pool`, { reset: true }).then((r) => r.body.text())) as PoolReport;
      await sleep(100);
    }
    assert.ok(pool!.recycles.maximum_requests >= 1, JSON.stringify(pool));
  });
});

describe('recycling options: bad input', () => {
  for (const [args, message] of [
    [['--maximum-requests', '-1'], /--maximum-requests must be at least 0/],
    [['--maximum-requests', 'many'], /--maximum-requests must be an integer/],
    [['--maximum-requests-jitter', '10'], /--maximum-requests-jitter needs --maximum-requests/],
    [['--maximum-requests-jitter', '1.5', '--maximum-requests', '5'], /--maximum-requests-jitter must be an integer/],
    [['--restart-interval', '-2'], /--restart-interval is in seconds and must be at least 0/],
    [['--inactivity-timeout', 'soon'], /--inactivity-timeout must be a number of seconds/],
    [['--ignore-activity', 'health'], /--ignore-activity must be a URL path starting with \//],
    [['--cpu-time-limit', '-1'], /--cpu-time-limit is in seconds/],
    [['--memory-limit', '1.5'], /--memory-limit must be an integer/],
    [['--memory-limit', '-512'], /--memory-limit must be at least 0/],
    [['--request-timeout', 'never'], /--request-timeout must be a number of seconds/],
  ] as const) {
    it(`${args.join(' ')}: exit 2 naming the flag`, async () => {
      const run = await runCli(['start-server', APP, ...args]);
      assert.equal(run.code, 2, run.output);
      assert.match(run.output, message);
    });
  }
});
