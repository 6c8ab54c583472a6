// Options not covered elsewhere, each through a real server: --entry-point,
// --callable-object, --working-directory, --server-root, --log-level.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { fixture, killAll, startServer } from '../helpers/server.js';

const tempDirs: string[] = [];
after(async () => {
  killAll();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function text(url: string): Promise<string> {
  return request(url).then((r) => r.body.text());
}

describe('application options', { timeout: 60_000 }, () => {
  it('--entry-point with --callable-object, in --working-directory, under --server-root', async () => {
    const cwd = await realpath(await mkdtemp(path.join(tmpdir(), 'tsgi-cwd-')));
    tempDirs.push(cwd);
    const root = path.join(cwd, 'server-root');
    const server = await startServer([
      '--entry-point', fixture('named-export.ts'), '--callable-object', 'app',
      '--working-directory', cwd, '--server-root', root,
    ]);
    assert.equal(await text(server.url), `cwd=${cwd}`);
    assert.match(server.output(), new RegExp(`Server Root {8}: ${root}`));
    assert.ok(existsSync(root), 'server root not created');
  });

  it('the working directory defaults to the script directory', async () => {
    const server = await startServer([fixture('named-export.ts'), '--callable-object', 'app']);
    assert.equal(await text(server.url), `cwd=${path.dirname(fixture('named-export.ts'))}`);
  });
});

describe('--log-level', { timeout: 60_000 }, () => {
  it('error hides info records; debug shows debug records', async () => {
    const quiet = await startServer([fixture('app.ts'), '--log-level', 'error']);
    const pid = () => text(`${quiet.url}pid`);
    const first = await pid();
    quiet.signal('SIGHUP');
    // The reload (and its info records) is over once a new worker answers.
    for (let tries = 0; (await pid()) === first; tries++) {
      assert.ok(tries < 200, 'the reload never finished');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.doesNotMatch(quiet.output(), /\[tsgi:info\]/);
    const res = await request(`${quiet.url}throw`);
    assert.equal(res.statusCode, 500);
    await quiet.waitFor(/\[tsgi:error\].*kaboom/);

    const loud = await startServer([fixture('app.ts'), '--log-level', 'debug']);
    loud.signal('SIGHUP');
    await loud.waitFor(/\[tsgi:debug\] \[pid \d+\] worker \d+ retired \(exit code 0\)/);
    assert.match(loud.output(), /\[tsgi:info\].*SIGHUP received/);
  });
});
