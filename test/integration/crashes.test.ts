// Workers that crash (issue 16, bug 4): a worker that was serving is replaced at
// once; only workers that fail to start back off; the log says which.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { Load } from '../helpers/load.js';
import { childrenRunning, fixture, killAll, startServer } from '../helpers/server.js';

const tempDirs: string[] = [];
after(async () => {
  killAll();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The CLI under test; TSGI_TEST_BIN runs the same tests against another build (e.g. main's, to see them fail). */
const bin = process.env.TSGI_TEST_BIN;

describe('a worker that crashes while serving', { timeout: 60_000 }, () => {
  it('is replaced at once: under load, never more than a moment without a live worker after the first start', async () => {
    const server = await startServer([fixture('crashes-from-timer.ts'), '--processes', '2'], { bin });
    const load = new Load(server.url, { loops: 4, keepAlive: false, maxMs: 20_000, hangMs: 4000 });
    const counts: number[] = [];
    // The longest time no worker was alive: two workers may die within the same few
    // milliseconds, and the master forks their replacements as soon as it hears of it;
    // a back-off (the bug) leaves none for half a second or more.
    let longestGapMs = 0;
    let noneSince: number | undefined;
    const until = Date.now() + 8000;
    let servedAt6s = 0;
    while (Date.now() < until) {
      const count = childrenRunning(server.pid, 'worker/main.js').length;
      counts.push(count);
      if (count > 0) noneSince = undefined;
      else longestGapMs = Math.max(longestGapMs, Date.now() - (noneSince ??= Date.now()));
      if (servedAt6s === 0 && until - Date.now() < 2000) servedAt6s = load.result.ok;
      await sleep(10);
    }
    const result = await load.stop();
    const crashes = server.output().match(/crashing on purpose from a timer/g)?.length ?? 0;
    assert.ok(crashes >= 4, `only ${crashes} crashes in 8 s; output:\n${server.output()}`);
    assert.ok(longestGapMs < 250, `no worker alive for ${longestGapMs} ms (at ${counts.filter((c) => c === 0).length} of ${counts.length} samples)`);
    assert.ok(result.ok > servedAt6s, 'requests stopped being served');
    // Requests in flight on a crashing worker fail, and connections made while neither
    // worker listens are refused (node:cluster closes its socket then); none may hang.
    assert.equal(result.hung, 0, result.errors.join('\n'));
    assert.match(server.output(), /worker \d+ died \(exit code 1\) while serving requests \(up [\d.]+s\); starting a replacement now/);
    assert.doesNotMatch(server.output(), /next attempt in/);
  });
});

describe('a worker that fails to start', { timeout: 60_000 }, () => {
  it('is retried with growing back-off, said in the log, until it starts again', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tsgi-broken-'));
    tempDirs.push(dir);
    const marker = path.join(dir, 'broken');
    const server = await startServer([fixture('fails-to-restart.ts'), '--processes', '1'], { bin, env: { FIXTURE_BROKEN: marker } });
    await writeFile(marker, '');
    await request(`${server.url}crash`).then((r) => r.body.text(), () => "");
    await server.waitFor(/worker \d+ died \(exit code 1\) while serving requests .*; starting a replacement now/);
    await server.waitFor(/a new worker could not start \(1 in a row\); next attempt in 0\.5 s:\n[^]*broken on purpose/);
    await server.waitFor(/a new worker could not start \(2 in a row\); next attempt in 1\.0 s/);
    await server.waitFor(/a new worker could not start \(3 in a row\); next attempt in 2\.0 s/);
    await rm(marker);
    // The next attempt (at most 2 s away) starts, and the worker serves again.
    let status = 0;
    for (let tries = 0; status !== 200 && tries < 60; tries++) {
      status = await request(server.url, { headersTimeout: 5000 }).then((r) => (r.body.dump(), r.statusCode), () => 0);
      if (status !== 200) await sleep(100);
    }
    assert.equal(status, 200);
    assert.doesNotMatch(server.output(), /\(4 in a row\)/);
  });
});
