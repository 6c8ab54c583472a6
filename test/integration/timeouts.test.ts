// --startup-timeout, --shutdown-timeout and --graceful-timeout through the real CLI.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import {
  BIN, childrenRunning, fixture, killAll, runCli, sleepInApp, startServer, waitGone,
} from '../helpers/server.js';

const tempDirs: string[] = [];
after(async () => {
  killAll();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const cutOff = (url: string) =>
  request(url).then(
    (r) => r.body.text().then(() => 'finished'),
    () => 'cut off',
  );

describe('timeouts', { timeout: 60_000 }, () => {
  it('--startup-timeout stops a server whose app never finishes loading (exit 3)', async () => {
    const t0 = performance.now();
    const { code, output } = await runCli([
      'start-server', fixture('slow-to-load.ts'), '--port', '0', '--host', '127.0.0.1', '--startup-timeout', '1',
    ]);
    assert.equal(code, 3);
    assert.match(output, /did not become ready within --startup-timeout 1s/);
    assert.ok(performance.now() - t0 < 8000);
  });

  it('--shutdown-timeout cuts off a request that outlives it, and the master still exits 0', async () => {
    const server = await startServer([fixture('app.ts'), '--shutdown-timeout', '0.5']);
    const long = (await sleepInApp(server, 10_000, cutOff)).response;
    const t0 = performance.now();
    server.signal('SIGTERM');
    assert.deepEqual(await server.exited(), { code: 0, signal: null });
    // Against the default --shutdown-timeout of 5 s, not a speed requirement.
    assert.ok(performance.now() - t0 < 4000, 'did not stop near the shutdown timeout');
    assert.equal(await long, 'cut off');
    assert.equal(await waitGone(server.pid), true, 'a worker outlived the master');
  });

  it('SIGTERM while the app is still loading stops the server (exit 0, nothing left)', async () => {
    const child = spawn(process.execPath, [BIN, 'start-server', fixture('slow-to-load.ts'), '--port', '0', '--host', '127.0.0.1'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = once(child, 'exit');
    try {
      // The master has forked its worker (after installing its signal handlers), which is loading the app.
      for (let tries = 0; childrenRunning(child.pid!, 'worker/main.js').length === 0; tries++) {
        assert.ok(tries < 200 && child.exitCode === null, `no worker was forked; output:\n${out}`);
        await sleep(50);
      }
      child.kill('SIGTERM');
      const guard = new AbortController(); // the hang guard's timer must not outlive the race
      const [code] = await Promise.race([exited, sleep(8000, ['timeout'], { signal: guard.signal })]).finally(() =>
        guard.abort(),
      );
      assert.equal(code, 0, out);
      assert.doesNotMatch(out, /Ready:|could not be loaded/);
      assert.equal(await waitGone(child.pid!), true, 'a worker outlived the master');
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    }
  });

  it('a second SIGINT stops at once', async () => {
    const server = await startServer([fixture('app.ts'), '--shutdown-timeout', '30']);
    const long = (await sleepInApp(server, 20_000, cutOff)).response;
    const t0 = performance.now();
    const from = server.output().length;
    server.signal('SIGINT');
    await server.waitFor(/SIGINT received: stopping gracefully/, 5000, from);
    server.signal('SIGINT');
    await server.waitFor(/Second SIGINT: stopping now/, 5000, from);
    await server.exited();
    // Against the 30 s --shutdown-timeout the first SIGINT alone would wait for.
    assert.ok(performance.now() - t0 < 3000);
    assert.equal(await long, 'cut off');
  });

  it('--graceful-timeout bounds how long an old worker may finish requests after a reload', async () => {
    const server = await startServer([fixture('app.ts'), '--graceful-timeout', '0.5']);
    const long = (await sleepInApp(server, 10_000, cutOff)).response;
    const t0 = performance.now();
    server.signal('SIGHUP');
    assert.equal(await long, 'cut off');
    assert.ok(performance.now() - t0 < 5000);
    assert.equal((await request(`${server.url}pid`)).statusCode, 200);
  });
});

describe('loading', { timeout: 60_000 }, () => {
  it('loads the app once per worker at start and once per worker per reload', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tsgi-loads-'));
    tempDirs.push(dir);
    const log = path.join(dir, 'loads.log');
    const file = path.join(dir, 'app.ts');
    const source = (v: string) =>
      `import { appendFileSync } from 'node:fs';\nappendFileSync(${JSON.stringify(log)}, process.pid + '\\n');\n` +
      `export const application = (e: unknown, s: (a: string, b: [string, string][]) => void) => { s('200 OK', []); return ['${v}']; };\n`;
    await writeFile(file, source('v1'));
    const server = await startServer([file, '--processes', '2']);
    assert.equal((await readFile(log, 'utf8')).trim().split('\n').length, 2);
    await writeFile(file, source('v2'));
    await server.waitFor(/Reload complete/);
    await sleep(300); // a load too many, if any, would have happened by now
    const loads = (await readFile(log, 'utf8')).trim().split('\n');
    assert.equal(loads.length, 4);
    assert.ok(!loads.includes(String(server.pid)), 'the master itself loaded the app');
  });
});
