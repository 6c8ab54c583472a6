/**
 * What a worker keeps once it serves (issue 26, worker memory): esbuild's transform
 * thread and child process, started when tsx compiled a file its disk cache did not
 * have, are stopped after the app is loaded (+20 MB and a 12 MB process each on
 * Node 24 otherwise). The watchdog thread's rule is tested in watchdog.test.ts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import module from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { killAll, startServer } from '../helpers/server.js';

const dirs: string[] = [];
after(async () => {
  await killAll();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Live child processes of `pid` running `marker`, whichever of its threads started them (esbuild's is not the main one). */
function childrenOfAnyThread(pid: number, marker: string): number[] {
  const found: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let children = '';
    try {
      children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue; // the thread ended
    }
    for (const child of children.trim().split(/\s+/).filter(Boolean).map(Number)) {
      try {
        if (readFileSync(`/proc/${child}/cmdline`, 'utf8').includes(marker)) found.push(child);
      } catch {}
    }
  }
  return found;
}

// Node 20 runs tsx's ESM hooks in module.register's own thread, whose esbuild is out of the worker's reach.
const hooksInThread = typeof (module as { registerHooks?: unknown }).registerHooks === 'function';

describe('worker memory', { timeout: 60_000 }, () => {
  it('a worker that compiled its app (a file new to tsx\'s cache) keeps no esbuild process', { skip: !hooksInThread && 'Node without module.registerHooks' }, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tsgi-esbuild-'));
    dirs.push(dir);
    const app = path.join(dir, 'app.ts');
    // A comment no earlier run has seen: tsx's cache misses and esbuild compiles it.
    await writeFile(
      app,
      `// ${randomUUID()}\n` +
        "export const application = (_environ: object, start: (status: string, headers: [string, string][]) => void): string[] => {\n" +
        "  start('200 OK', [['Content-Type', 'text/plain']]);\n" +
        '  return [String(process.pid)];\n' +
        '};\n',
    );
    const server = await startServer([app]);
    const pid = Number(await (await fetch(server.url)).text());
    assert.ok(pid > 0);
    // esbuild's stop() ends its thread, whose child then sees its stdin close and exits.
    const deadline = performance.now() + 10_000;
    while (childrenOfAnyThread(pid, 'esbuild').length > 0) {
      assert.ok(performance.now() < deadline, `worker ${pid} still has an esbuild process 10 s after Ready`);
      await sleep(100);
    }
    assert.equal((await fetch(server.url)).status, 200);
  });
});
