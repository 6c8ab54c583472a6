// Issue 16, bug 3: an app printing far more than its log can take (a slow reader of
// the master's stderr). Memory for lines in flight stays bounded in the workers and
// the master (lines beyond the bounds are dropped and counted), and SIGTERM still
// stops the server within --shutdown-timeout plus the documented margin.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { fixture, killAll, startServer } from '../helpers/server.js';

after(killAll);

const MB = 1024 * 1024;
const SHUTDOWN_TIMEOUT = 2;
/** docs/architecture.md, "Logging": the master exits within --shutdown-timeout plus this. */
const MARGIN_S = 3;

function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describe('a log flood with a slow reader', { timeout: 90_000 }, () => {
  it('keeps the workers and the master bounded, and SIGTERM stops the server in time', async () => {
    const server = await startServer([fixture('log-app.ts'), '--processes', '2', '--shutdown-timeout', String(SHUTDOWN_TIMEOUT)]);
    // A reader that takes a little now and then: the pipe is full most of the time.
    const stderr = server.child.stderr!;
    stderr.pause();
    const slowReader = setInterval(() => {
      stderr.resume();
      setImmediate(() => stderr.pause());
    }, 200);
    let masterPeak = 0;
    let workerPeak = 0;
    const sampler = setInterval(() => {
      masterPeak = Math.max(masterPeak, rssKb(server.pid));
      for (const pid of children(server.pid)) workerPeak = Math.max(workerPeak, rssKb(pid));
    }, 100);
    const agent = new Agent({ connections: 5 });
    let served = 0;
    try {
      // 5 clients, each request printing 2,000 lines of 1 KiB, for 6 s.
      const deadline = Date.now() + 6000;
      await Promise.all(
        Array.from({ length: 5 }, async (_, c) => {
          while (Date.now() < deadline) {
            const res = await request(`${server.url}print?n=2000&size=1000&tag=c${c}`, { dispatcher: agent });
            await res.body.text();
            assert.equal(res.statusCode, 200);
            served++;
          }
        }),
      );
      assert.ok(served > 0);
      const start = Date.now();
      server.signal('SIGTERM');
      const limit = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 20_000));
      const exit = await Promise.race([server.exited(), limit]);
      const seconds = (Date.now() - start) / 1000;
      assert.ok(exit, `SIGTERM did not stop the server within 20 s (served ${served})`);
      assert.equal(exit.code, 0);
      assert.ok(seconds < SHUTDOWN_TIMEOUT + MARGIN_S, `SIGTERM took ${seconds.toFixed(1)} s (served ${served})`);
    } finally {
      clearInterval(slowReader);
      clearInterval(sampler);
      await agent.close();
    }
    const master = (masterPeak * 1024) / MB;
    const worker = (workerPeak * 1024) / MB;
    process.stderr.write(`# flood: served ${served} requests; peak RSS master ${master.toFixed(0)} MB, largest worker ${worker.toFixed(0)} MB\n`);
    assert.ok(master < 150, `master peaked at ${master.toFixed(0)} MB`);
    assert.ok(worker < 250, `a worker peaked at ${worker.toFixed(0)} MB`);
  });
});
