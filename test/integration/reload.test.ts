// Reloading through the real CLI: rolling reload under continuous load with zero
// failed requests, broken code keeping the old workers serving, one reload per
// burst of writes, and --reload-on-changes for an imported module.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { Load } from '../helpers/load.js';
import { killAll, startServer, type RunningServer } from '../helpers/server.js';

const tempDirs: string[] = [];
after(async () => {
  killAll();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const appSource = (version: string) => `
import type { Application } from 'tsgi-express';
export const application: Application = (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return ['${version}'];
};
`;

const importingSource = `
import { message } from './message.ts';
export const application = (environ: unknown, startResponse: (s: string, h: [string, string][]) => void) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [message];
};
`;

async function appDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tsgi-reload-'));
  tempDirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

async function body(server: RunningServer): Promise<string> {
  return request(server.url, { reset: true, headersTimeout: 5000, bodyTimeout: 5000 }).then((r) => r.body.text());
}

function count(text: string, re: RegExp): number {
  return text.match(new RegExp(re.source, 'g'))?.length ?? 0;
}

/** Polls until the server answers `expected` (the reload is asynchronous by nature). */
async function until(server: RunningServer, expected: string, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const got = await body(server).catch((err) => assert.fail(`${err.message}; output:\n${server.output()}`));
    if (got === expected) return;
    await sleep(25);
  }
  assert.fail(`server never answered ${expected}; output:\n${server.output()}`);
}

// The five tests together take ~50 s on an idle machine; a loaded one (the whole suite beside
// other suites) needs more, and each test bounds its own waits.
describe('reloading', { timeout: 180_000 }, () => {
  it('a change to the script reloads under continuous load with zero failed requests', async () => {
    const dir = await appDir({ 'app.ts': appSource('v1') });
    const server = await startServer([path.join(dir, 'app.ts'), '--processes', '2']);
    const keepAlive = new Load(server.url, { loops: 4, keepAlive: true, maxMs: 20_000 });
    const fresh = new Load(server.url, { loops: 2, keepAlive: false, maxMs: 20_000 });
    await sleep(500);
    await writeFile(path.join(dir, 'app.ts'), appSource('v2'));
    await server.waitFor(/Reload complete/);
    await sleep(1000); // keep loading while the old workers drain
    const [a, b] = [await keepAlive.stop(), await fresh.stop()];
    assert.equal(a.failed, 0, `keep-alive failures: ${a.errors.join('; ')}`);
    assert.equal(b.failed, 0, `new-connection failures: ${b.errors.join('; ')}`);
    assert.ok(a.ok > 100 && b.ok > 50, `too little load to prove anything: ${a.ok} + ${b.ok}`);
    assert.deepEqual([...a.bodies].sort(), ['v1', 'v2']);
    assert.ok(b.bodies.has('v2'));
    assert.equal(await body(server), 'v2');
  });

  it('new code that fails to load leaves the old workers serving; the next change tries again', async () => {
    const dir = await appDir({ 'app.ts': appSource('v1') });
    const file = path.join(dir, 'app.ts');
    const server = await startServer([file, '--processes', '2']);
    const broken = [
      ['syntax error', 'export const application = (;\n', /Reload failed[\s\S]*app\.ts:1:\d+/],
      ['throw at import', "throw new Error('refusing to load');\n", /Reload failed[\s\S]*refusing to load[\s\S]*app\.ts:1:\d+/],
      ['missing export', 'export const other = 1;\n', /Reload failed[\s\S]*no usable export|Reload failed[\s\S]*other/],
    ] as const;
    for (const [what, source, logged] of broken) {
      const from = server.output().length;
      await writeFile(file, source);
      await server.waitFor(logged, 15_000, from).catch((err) => assert.fail(`${what}: ${err.message}`));
      assert.equal(await body(server), 'v1', `${what}: old code no longer serving`);
    }
    await writeFile(file, appSource('v3'));
    await until(server, 'v3');
  });

  it('a burst of writes and a rename-over save each give exactly one reload', async () => {
    const dir = await appDir({ 'app.ts': appSource('v1') });
    const file = path.join(dir, 'app.ts');
    const server = await startServer([file]);
    // Five saves back to back, each its own write (and change event): no timer between them,
    // which a loaded machine can stretch past the watcher's 150 ms quiet period.
    for (let i = 2; i <= 6; i++) writeFileSync(file, appSource(`v${i}`));
    await until(server, 'v6');
    await sleep(600); // a second reload, if any, would have started by now
    assert.equal(count(server.output(), /Reloading \(/), 1, server.output());

    const temp = path.join(dir, '.app.ts.swp');
    await writeFile(temp, appSource('v7'));
    await rename(temp, file); // how many editors save
    await until(server, 'v7');
    await sleep(600);
    assert.equal(count(server.output(), /Reloading \(/), 2, server.output());
  });

  it('--reload-on-changes reloads when an imported module changes; the default does not', async () => {
    const files = { 'app.ts': importingSource, 'message.ts': "export const message = 'm1';\n" };
    const watching = await startServer([path.join(await appDir(files), 'app.ts'), '--reload-on-changes']);
    const dirOf = (s: RunningServer) => path.dirname(s.output().match(/Application {8}: (\S+)/)![1]!);
    assert.match(watching.output(), /Reloading {10}: all modules/);
    await writeFile(path.join(dirOf(watching), 'message.ts'), "export const message = 'm2';\n");
    await until(watching, 'm2');

    const plain = await startServer([path.join(await appDir(files), 'app.ts')]);
    await writeFile(path.join(dirOf(plain), 'message.ts'), "export const message = 'm2';\n");
    await sleep(800);
    assert.equal(await body(plain), 'm1');
    assert.doesNotMatch(plain.output(), /Reloading \(/);
  });

  it('--disable-reloading ignores changes; debug mode still reloads', async () => {
    const dir = await appDir({ 'app.ts': appSource('v1') });
    const file = path.join(dir, 'app.ts');
    const off = await startServer([file, '--disable-reloading']);
    assert.match(off.output(), /Reloading {10}: off/);
    const debug = await startServer([file, '--debug-mode']);
    await writeFile(file, appSource('v2'));
    await until(debug, 'v2');
    await sleep(500);
    assert.equal(await body(off), 'v1');
  });
});
