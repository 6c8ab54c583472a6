// The master as an event loop (issue 21, "First"): signals only queue events, so one
// that arrives during start-up is handled once the server is ready; SIGTTIN and
// SIGTTOU scale the pool; master and workers ask each other questions over IPC.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { PoolReport } from '../../src/ipc/messages.js';
import { Load } from '../helpers/load.js';
import { BIN, childrenRunning, fixture, killAll, READY_LINE, startServer, type RunningServer } from '../helpers/server.js';

after(() => killAll());

const get = (url: string) => request(url, { reset: true, headersTimeout: 5000 }).then((r) => r.body.text());

/** Polls (bounded) until `check` holds. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`never: ${what}`);
    await sleep(50);
  }
}

const workers = (server: RunningServer) => childrenRunning(server.pid, 'worker/main.js').length;

describe('signals during start-up', { timeout: 60_000 }, () => {
  it('a SIGHUP that arrives while the app loads is queued, and reloads once the server is ready', async () => {
    const child = spawn(process.execPath, [BIN, 'start-server', fixture('loads-slowly.ts'), '--port', '0', '--host', '127.0.0.1'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      await until('the app started loading', () => /loading started/.test(out));
      child.kill('SIGHUP');
      await until('the server is ready', () => READY_LINE.test(out));
      await until('the queued reload completed', () => /Reload complete/.test(out));
      assert.match(out, /SIGHUP received while starting: handled once the server is ready/);
      // Queued, not lost, and handled after Ready: the banner comes before the reload.
      assert.ok(out.indexOf('Ready:') < out.indexOf('SIGHUP received: rolling reload'), out);
      assert.equal(out.match(/loading started/g)?.length, 2, 'one load at start, one for the reload');
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    }
  });
});

describe('runtime scaling', { timeout: 90_000 }, () => {
  it('SIGTTIN adds a worker, SIGTTOU removes one gracefully, under load with no failed request', async () => {
    const server = await startServer([fixture('app.ts'), '--processes', '2']);
    const load = new Load(server.url, { loops: 3, keepAlive: true, maxMs: 40_000, hangMs: 10_000 });
    server.signal('SIGTTIN');
    await server.waitFor(/SIGTTIN received: adding a worker; Request Capacity: 300 \(3 processes \* 100 threads\)/);
    await until('three workers run', () => workers(server) === 3);
    const pids = new Set<string>();
    await until('three workers serve', async () => (pids.add(await get(`${server.url}pid`)), pids.size === 3));
    const from = server.output().length;
    server.signal('SIGTTOU');
    await server.waitFor(/SIGTTOU received: removing a worker \(worker \d+ drains\); Request Capacity: 200 \(2 processes \* 100 threads\)/, 5000, from);
    server.signal('SIGTTOU');
    await server.waitFor(/Request Capacity: 100 \(1 process \* 100 threads\)/, 5000, from);
    await until('one worker is left', () => workers(server) === 1, 20_000);
    server.signal('SIGTTOU');
    await server.waitFor(/SIGTTOU received: already down to one worker; ignored/, 5000, from);
    const result = await load.stop();
    assert.equal(result.failed, 0, result.errors.join('\n'));
    assert.ok(result.ok > 0);
    assert.equal(workers(server), 1);
    assert.doesNotMatch(server.output(), /died/);
  });

  it('with one worker (the master\'s own socket), SIGTTIN gives two that both accept', async () => {
    const server = await startServer([fixture('app.ts'), '--processes', '1']);
    server.signal('SIGTTIN');
    await until('two workers run', () => workers(server) === 2);
    const pids = new Set<string>();
    await until('both serve', async () => (pids.add(await get(`${server.url}pid`)), pids.size === 2), 20_000);
  });
});

describe('questions between the master and its workers', { timeout: 60_000 }, () => {
  it('a worker asks the master about the pool; the master knows each worker\'s stats from its heartbeat', async () => {
    const server = await startServer([fixture('asks-master.ts'), '--processes', '2']);
    const pids = new Set<number>();
    await until('both workers served', async () => (pids.add(Number(await get(`${server.url}pid`))), pids.size === 2));
    let pool: PoolReport | undefined;
    // The heartbeat runs each second; the counts include the /pid requests above.
    await until('both workers reported stats', async () => {
      pool = JSON.parse(await get(`${server.url}pool`)) as PoolReport;
      return pool.workers.every((w) => (w.stats?.requests ?? 0) > 0);
    });
    assert.equal(pool!.masterPid, server.pid);
    assert.equal(pool!.target, 2);
    assert.equal(pool!.generation, 1);
    assert.deepEqual(new Set(pool!.workers.map((w) => w.pid)), pids);
    for (const w of pool!.workers) {
      assert.equal(w.state, 'ready');
      assert.ok(w.stats!.rss > 10e6 && w.stats!.cpuSeconds > 0, JSON.stringify(w.stats));
    }
    assert.deepEqual(pool!.restarts, { crashed: 0, deadlock_timeout: 0 });
    assert.equal(Object.values(pool!.recycles).reduce((a, b) => a + b, 0), 0);
  });
});
