// Issue 19: a full or read-only disk never stops the server. On a small tmpfs this
// test mounts (root only; skipped with a message where mounting is not allowed) and
// fills, the server keeps answering 200, says so once on stderr, and once space is
// freed logs again, with the count of the lines it had to drop: the lines written
// plus the lines counted as dropped are exactly the requests served. The same when
// the log directory turns read-only while the server serves and SIGUSR1 reopens the
// files there (EROFS), until it is writable again. Stopped while the disk is still
// full, it exits in bounded time and counts what it could not write.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fixedLoad, logLines } from '../helpers/logs.js';
import { fixture, killAll, runCli, startServer, type RunningServer } from '../helpers/server.js';

const mounted: string[] = [];
const tempDirs: string[] = [];
after(async () => {
  killAll();
  for (const dir of mounted) execFileSync('umount', ['-l', dir]);
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Mounts a tmpfs of `size`; undefined (with why) where that is not allowed. */
async function mountTmpfs(size: string): Promise<string | Error> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tsgi-full-'));
  tempDirs.push(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    return err as Error;
  }
  mounted.push(dir);
  return dir;
}

/** Fills the file system of `file` up, then frees `spare` bytes (so the next write is a short one). */
function fill(file: string, spare: number): void {
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(64 * 1024, 'f');
  let size = 0;
  try {
    for (;;) size += writeSync(fd, block);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  }
  ftruncateSync(fd, Math.max(0, size - spare));
  closeSync(fd);
}

/** What the server writes to its stderr from now on. */
function stderrOf(server: RunningServer): () => string {
  let text = '';
  server.child.stderr!.on('data', (d) => (text += d));
  return () => text;
}

const sum = (text: string, re: RegExp) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);

/**
 * The access lines in `dir` and the lines the error log there counts as dropped, in the
 * workers (their queues full while the master could not write) and in the master.
 * `whole`: every file must end with a whole line (once the server has exited); while it
 * runs, a chunk may be half written (being written, or a short write on a full disk about
 * to be cut off), and only whole lines count.
 */
function accounted(dir: string, whole: boolean) {
  const errors = readFileSync(path.join(dir, 'error_log'), 'utf8');
  const inWorkers = sum(errors, /dropped \d+ log lines \(\d+ error log, (\d+) access log\)/g);
  const inMaster = sum(errors, /\S*access_log[^:]*: (\d+) log lines? (?:was|were) dropped/g);
  const lines = whole ? logLines(dir, 'access_log').length : readFileSync(path.join(dir, 'access_log'), 'utf8').split('\n').length - 1;
  return { lines, inWorkers, inMaster, errors };
}

/** What was held back is written once writing works again: waits (bounded) until the count is complete. */
async function settled(dir: string, served: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const count = accounted(dir, false);
    if (count.lines + count.inWorkers + count.inMaster >= served || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('a full or read-only disk', { timeout: 120_000 }, () => {
  it('keeps serving, says so once, and logs again with the dropped count once space returns', async (t) => {
    const dir = await mountTmpfs('16m');
    if (dir instanceof Error) return t.skip(`cannot mount a tmpfs here (needs root): ${dir.message.split('\n')[0]}`);
    // Lines of ~2 KiB (a padding header), so the bounds are reached with a few thousand requests;
    // 16 MiB, so what the server holds back (at most ~6 MiB here) fits once space returns.
    const server = await startServer([
      fixture('log-app.ts'), '--processes', '2', '--access-log', '--log-directory', dir,
      '--access-log-format', '%h %l %u %t "%r" %>s %b "%{X-Pad}i"',
    ]);
    const stderr = stderrOf(server);
    const pad = { 'X-Pad': 'p'.repeat(2000) };
    const origin = server.url.replace(/\/$/, '');
    let served = await fixedLoad(origin, '/', 200, 4, pad);
    const filler = path.join(dir, 'filler');
    fill(filler, 3000);
    served += await fixedLoad(origin, '/', 6000, 8, pad);
    await server.waitFor(/cannot write \S*access_log/, 10_000);
    // Space returns.
    rmSync(filler);
    served += await fixedLoad(origin, '/', 50, 2, pad);
    await server.waitFor(/writing \S*access_log again/, 15_000);
    await settled(dir, served);
    server.signal('SIGTERM');
    assert.equal((await server.exited()).code, 0);
    const count = accounted(dir, true);

    // Said once, on stderr (the error log is what failed).
    assert.equal(stderr().match(/cannot write \S*access_log/g)?.length, 1, server.output());
    assert.equal(server.output().match(/cannot write \S*access_log/g)?.length, 1, server.output());
    for (const line of logLines(dir, 'access_log')) assert.match(line, /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/ HTTP\/1\.1" 200 12 "p{2000}"$/);
    assert.ok(count.inWorkers + count.inMaster > 0, `some lines were dropped and counted:\n${count.errors}`);
    assert.equal(count.lines + count.inWorkers + count.inMaster, served, count.errors);
  });

  it('a disk that turns read-only while serving: keeps serving, says so once, logs again when writable, with the dropped count', async (t) => {
    // The log files are on an ordinary directory; a read-only file system mounted over it is
    // what their names lead to from then on (a tmpfs cannot be remounted read-only while the
    // server holds its files open: EBUSY). SIGUSR1, as after an external logrotate, reopens
    // them by name: EROFS.
    const dir = await mkdtemp(path.join(tmpdir(), 'tsgi-ro-'));
    tempDirs.push(dir);
    const server = await startServer([
      fixture('log-app.ts'), '--processes', '2', '--access-log', '--log-directory', dir,
      '--access-log-format', '%h %l %u %t "%r" %>s %b "%{X-Pad}i"',
    ]);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir], { stdio: 'pipe' });
    } catch (err) {
      return t.skip(`cannot mount a tmpfs here (needs root): ${(err as Error).message.split('\n')[0]}`);
    }
    mounted.push(dir);
    const stderr = stderrOf(server);
    const pad = { 'X-Pad': 'p'.repeat(2000) };
    const origin = server.url.replace(/\/$/, '');
    let served = await fixedLoad(origin, '/', 200, 4, pad);
    server.signal('SIGUSR1');
    // More than the bounds hold (a few MiB in the workers and the master): some are dropped.
    served += await fixedLoad(origin, '/', 6000, 8, pad);
    await server.waitFor(/cannot write \S*access_log \(EROFS/, 10_000);
    // Writable again; SIGUSR1 retries at once (a failing file is otherwise retried every 2 s).
    execFileSync('umount', [dir]);
    mounted.splice(mounted.indexOf(dir), 1);
    server.signal('SIGUSR1');
    served += await fixedLoad(origin, '/', 50, 2, pad);
    await server.waitFor(/writing \S*access_log again after it failed \(EROFS/, 15_000);
    await settled(dir, served);
    server.signal('SIGTERM');
    assert.equal((await server.exited()).code, 0);
    const count = accounted(dir, true);

    // Said once per file, on stderr (the error log is one of what failed).
    for (const name of ['access_log', 'error_log']) {
      const said = new RegExp(`cannot write \\S*${name}`, 'g');
      assert.equal(stderr().match(said)?.length, 1, server.output());
      assert.equal(server.output().match(said)?.length, 1, server.output());
    }
    for (const line of logLines(dir, 'access_log')) assert.match(line, /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/ HTTP\/1\.1" 200 12 "p{2000}"$/);
    assert.ok(count.inWorkers + count.inMaster > 0, `some lines were dropped and counted:\n${count.errors}`);
    assert.equal(count.lines + count.inWorkers + count.inMaster, served, count.errors);
    assert.match(count.errors, /SIGUSR1 received/);
  });

  it('stopped while the disk is still full: exits 0 within --shutdown-timeout plus 3 s, counting what was not written', async (t) => {
    const dir = await mountTmpfs('4m');
    if (dir instanceof Error) return t.skip(`cannot mount a tmpfs here (needs root): ${dir.message.split('\n')[0]}`);
    const server = await startServer([
      fixture('log-app.ts'), '--processes', '2', '--access-log', '--log-directory', dir, '--shutdown-timeout', '1',
      '--access-log-format', '%h %l %u %t "%r" %>s %b "%{X-Pad}i"',
    ]);
    const stderr = stderrOf(server);
    const pad = { 'X-Pad': 'p'.repeat(2000) };
    fill(path.join(dir, 'filler'), 0);
    await fixedLoad(server.url.replace(/\/$/, ''), '/', 1000, 4, pad);
    await server.waitFor(/cannot write \S*access_log/, 10_000);
    const start = Date.now();
    server.signal('SIGTERM');
    const limit = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 20_000));
    const exit = await Promise.race([server.exited(), limit]);
    const seconds = (Date.now() - start) / 1000;
    assert.ok(exit, 'SIGTERM did not stop the server within 20 s');
    assert.equal(exit.code, 0);
    assert.ok(seconds < 1 + 3, `SIGTERM took ${seconds.toFixed(1)} s`);
    // What still waited for the full disk is counted where it can be read.
    assert.match(stderr(), /\d+ log lines for \S*access_log could not be written before exit/);
  });

  it('a read-only disk: the server does not start, naming the flag (exit 2)', async (t) => {
    const dir = await mountTmpfs('1m');
    if (dir instanceof Error) return t.skip(`cannot mount a tmpfs here (needs root): ${dir.message.split('\n')[0]}`);
    execFileSync('mount', ['-o', 'remount,ro', dir]);
    const { code, output } = await runCli(['start-server', fixture('log-app.ts'), '--port', '0', '--log-directory', dir]);
    assert.equal(code, 2, output);
    assert.match(output.trim(), /^tsgi-express: error: --log-directory \S+: cannot be written \(EROFS/);
  });
});
