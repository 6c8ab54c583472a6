// Issue 16, bug 1: the process reading the master's stdout or stderr goes away
// (a log shipper restarting, `| head`). The master must keep serving: the failed
// terminal is reported once where something can still be written, then dropped.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { fixture, killAll, pidAlive, type RunningServer, startServer } from '../helpers/server.js';

const tempDirs: string[] = [];
after(async () => {
  killAll();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function pidFile(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tsgi-reader-'));
  tempDirs.push(dir);
  return path.join(dir, 'server.pid');
}

async function getBody(url: string): Promise<{ status: number; body: string }> {
  const res = await request(url);
  return { status: res.statusCode, body: await res.body.text() };
}

/** Serves `count` requests, each of which must be answered 200. */
async function serveSome(server: RunningServer, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await getBody(`${server.url}pid`);
    assert.equal(res.status, 200, `request ${i} after the reader left`);
  }
}

/** Stops the server and checks it exits 0 and removes its pid file. */
async function stopCleanly(server: RunningServer, file: string): Promise<void> {
  server.signal('SIGTERM');
  const { code } = await server.exited();
  assert.equal(code, 0);
  assert.equal(existsSync(file), false, 'pid file removed on exit');
}

const occurrences = (text: string, re: RegExp) => text.match(new RegExp(re.source, 'g'))?.length ?? 0;

describe('a log reader that goes away', { timeout: 60_000 }, () => {
  it('stdout (the access log): the master keeps serving and says so once on stderr', async () => {
    const file = await pidFile();
    const server = await startServer([fixture('app.ts'), '--processes', '2', '--access-log', '--pid-file', file]);
    // Closing our end of the pipe is what a reader that exits does: the master's next write gets EPIPE.
    server.child.stdout!.destroy();
    await serveSome(server, 40);
    await server.waitFor(/stdout.*(EPIPE|closed)/, 10_000);
    await serveSome(server, 10);
    assert.ok(pidAlive(server.pid), 'master alive');
    assert.equal(readFileSync(file, 'utf8').trim(), String(server.pid), 'pid file still names the master');
    assert.equal(occurrences(server.output(), /stdout.*(EPIPE|closed)/), 1, server.output());
    await stopCleanly(server, file);
  });

  it('stderr (the error log, a SIGHUP line): the master keeps serving and reloads', async () => {
    const file = await pidFile();
    const server = await startServer([fixture('app.ts'), '--processes', '2', '--pid-file', file]);
    const before = new Set<string>();
    for (let i = 0; i < 4; i++) before.add((await getBody(`${server.url}pid`)).body);
    server.child.stderr!.destroy();
    server.signal('SIGHUP'); // logs "SIGHUP received" to stderr, whose reader is gone
    await server.waitFor(/stderr.*(EPIPE|closed)/, 10_000);
    // The reload still happens: new workers answer.
    const deadline = Date.now() + 20_000;
    let pid = '';
    do pid = (await getBody(`${server.url}pid`)).body;
    while (before.has(pid) && Date.now() < deadline);
    assert.ok(!before.has(pid), 'the reload replaced the workers');
    await serveSome(server, 20);
    assert.ok(pidAlive(server.pid), 'master alive');
    assert.equal(readFileSync(file, 'utf8').trim(), String(server.pid));
    assert.equal(occurrences(server.output(), /stderr.*(EPIPE|closed)/), 1, server.output());
    await stopCleanly(server, file);
  });
});
