// Reloads whose code comes from a cache: tsx keeps every file it transformed on disk
// (docs/architecture.md, "Compiled code between workers"), so a new worker often compiles
// nothing, and a reload starts one worker first so that the others find the changed files
// there. A save
// must still always serve the saved code (the cache is keyed by content: a version saved
// before, and one of the same length written within the same second, are both found or
// transformed as they are), and a stack trace from code that came from the cache still
// names its .ts line.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { killAll, startServer, type RunningServer } from '../helpers/server.js';

const tempDirs: string[] = [];
after(async () => {
  killAll();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The app: its version at /, and /boom throws at line `3 + pad` of app.ts. */
const appSource = (version: string, pad = 0) =>
  `import type { Application } from 'tsgi-express';
export const application: Application = (environ, startResponse) => {${'\n'.repeat(pad)}
  if (environ.PATH_INFO === '/boom') throw new Error('boom ${version}');
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return ['${version}'];
};
`;

async function get(server: RunningServer, p = '/'): Promise<{ status: number; body: string }> {
  const r = await request(new URL(p, server.url), { reset: true, headersTimeout: 5000, bodyTimeout: 5000 });
  return { status: r.statusCode, body: await r.body.text() };
}

/** Saves `source` and waits for the reload it starts; then every worker must serve `version`. */
async function saveAndReload(server: RunningServer, file: string, source: string, version: string): Promise<void> {
  const from = server.output().length;
  await writeFile(file, source);
  await server.waitFor(/Reload complete/, 30_000, from);
  // New connections go round-robin over both workers: each of them serves the saved code.
  const bodies = new Set<string>();
  for (let i = 0; i < 6; i++) bodies.add((await get(server)).body);
  assert.deepEqual([...bodies], [version], `after saving ${version}; output:\n${server.output().slice(from)}`);
}

describe('reloading from the transform cache', { timeout: 120_000 }, () => {
  it('every save serves the saved code (back to an earlier version, the same length within the same second), and code from the cache throws with its .ts line', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tsgi-reload-cache-'));
    tempDirs.push(dir);
    const file = path.join(dir, 'app.ts');
    const nonce = `${process.pid}${Date.now()}`;
    // /boom throws at line 3 in version a, at line 6 in version b.
    await writeFile(file, appSource(`a${nonce}`));
    const server = await startServer([file, '--processes', '2']);
    assert.equal((await get(server)).body, `a${nonce}`);
    await saveAndReload(server, file, appSource(`b${nonce}`, 3), `b${nonce}`);
    // Transformed once already (at the start): found in the cache, and it is this version.
    await saveAndReload(server, file, appSource(`a${nonce}`), `a${nonce}`);
    const from = server.output().length;
    assert.equal((await get(server, '/boom')).status, 500);
    const [line] = await server.waitFor(new RegExp(`Error: boom a${nonce}\\n[^\\n]*\\] +at application \\(.*app\\.ts:\\d+:\\d+\\)`), 10_000, from);
    assert.match(line, /app\.ts:3:\d+\)$/, `the line of this version, not the other's: ${line}`);
    // The same size as version a, written at once: a cache keyed by size or mtime would miss the change.
    await saveAndReload(server, file, appSource(`c${nonce}`), `c${nonce}`);
  });

  it('a reload starts one worker first and the others once it is ready', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tsgi-reload-cache-'));
    tempDirs.push(dir);
    const file = path.join(dir, 'app.ts');
    // Answers its pid; the new version takes 1.5 s to load, so a worker started after it is ready
    // was forked at least that much later than the first.
    const source = (version: string, loadMs: number) => `
const t0 = Date.now();
while (Date.now() - t0 < ${loadMs}) {}
export const application = (environ: unknown, startResponse: (s: string, h: [string, string][]) => void) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return ['${version} ' + process.pid];
};
`;
    await writeFile(file, source('v1', 0));
    const server = await startServer([file, '--processes', '2']);
    const from = server.output().length;
    await writeFile(file, source('v2', 1500));
    await server.waitFor(/Reload complete/, 30_000, from);
    const pids = new Set<number>();
    for (let i = 0; i < 20 && pids.size < 2; i++) {
      const [version, pid] = (await get(server)).body.split(' ');
      assert.equal(version, 'v2');
      pids.add(Number(pid));
    }
    assert.equal(pids.size, 2, 'both new workers answered');
    // /proc/PID/stat field 22: when the process started, in clock ticks (1/100 s) since boot.
    const started = [...pids].map((pid) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]) / 100);
    const apart = Math.abs(started[0]! - started[1]!);
    assert.ok(apart >= 1.4, `the new workers started ${apart.toFixed(2)} s apart, not one after the other's load`);
  });
});
