// Issue 19: log files through real servers. Every access line reaches exactly one
// file, whole, under load with many rotations and with SIGUSR1 after the file was
// moved away; app output of two workers stays intact; rotated files are named
// like rotatelogs', retained and gzipped as asked; custom file names hold through
// rotation, retention and SIGUSR1; a crashed worker's last output comes before the
// line reporting its death.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { COMMON_LINE, fixedLoad, logFiles, logLines, logLinesInOrder, rotatedName } from '../helpers/logs.js';
import { fixture, killAll, startServer, type RunningServer } from '../helpers/server.js';

const tempDirs: string[] = [];
after(async () => {
  killAll();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function logDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tsgi-logs-'));
  tempDirs.push(dir);
  return dir;
}

const origin = (server: RunningServer) => server.url.replace(/\/$/, '');

async function stop(server: RunningServer): Promise<void> {
  server.signal('SIGTERM');
  const { code } = await server.exited();
  assert.equal(code, 0);
}

/** Polls (bounded) until check() holds. */
async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('log files', { timeout: 180_000 }, () => {
  it('under load with many rotations: as many access lines as requests served, each whole', async () => {
    const dir = await logDir();
    const server = await startServer([
      fixture('log-app.ts'), '--processes', '2', '--access-log', '--log-directory', dir,
      '--rotate-logs', '--max-log-size', '0.02',
    ]);
    assert.match(server.output(), new RegExp(`Access Log {9}: ${dir}/access_log \\(common\\)`));
    assert.match(server.output(), new RegExp(`Error Log {10}: ${dir}/error_log \\(info\\)`));
    assert.match(server.output(), /Log Rotation {7}: at 0\.02 MiB, all kept/);
    const served = await fixedLoad(origin(server), '/', 6000, 16);
    await stop(server);
    const lines = logLines(dir, 'access_log');
    assert.equal(lines.length, served);
    for (const line of lines) assert.match(line, COMMON_LINE);
    const rotated = logFiles(dir, 'access_log.');
    assert.ok(rotated.length >= 10, `rotated ${rotated.length} times`);
    for (const name of rotated) assert.match(name, rotatedName('access_log'));
  });

  it('SIGUSR1 after the file was moved away, again and again under load: no line lost', async () => {
    const dir = await logDir();
    const server = await startServer([
      fixture('log-app.ts'), '--processes', '2', '--access-log', '--log-directory', dir,
      '--rotate-logs', '--max-log-size', '0.05',
    ]);
    let moves = 0;
    let moving = true;
    // What an external logrotate does: rename the file, then tell the server.
    const mover = (async () => {
      while (moving) {
        const file = path.join(dir, 'access_log');
        if (existsSync(file)) {
          renameSync(file, path.join(dir, `access_log.moved-${++moves}`));
          server.signal('SIGUSR1');
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const served = await fixedLoad(origin(server), '/', 6000, 16);
    moving = false;
    await mover;
    await stop(server);
    assert.ok(moves >= 5, `moved ${moves} times`);
    const lines = logLines(dir, 'access_log');
    assert.equal(lines.length, served);
    for (const line of lines) assert.match(line, COMMON_LINE);
    // Each move was followed by a reopen: the error log says so.
    assert.match(readFileSync(path.join(dir, 'error_log'), 'utf8'), /SIGUSR1 received: reopening the log files/);
  });

  for (const rotating of [false, true]) {
    it(`two workers printing at once${rotating ? ', rotating many times' : ''}: every line of each whole, in each worker's order`, async () => {
      const dir = await logDir();
      const server = await startServer([
        fixture('log-app.ts'), '--processes', '2', '--log-directory', dir,
        ...(rotating ? ['--rotate-logs', '--max-log-size', '0.02'] : []),
      ]);
      // 24 requests of 100 lines of about 360 bytes: under a worker's 1 MiB queue even if one
      // worker serves them all, so a master starved of CPU makes it wait, never drop lines
      // (dropping, counted, is the log flood suite's subject).
      const N = 100;
      const SIZE = 300;
      const served = await fixedLoad(origin(server), `/print?n=${N}&size=${SIZE}&tag=P`, 24, 4);
      await stop(server);
      // Across the rotated files oldest first, then the active one.
      const printed = logLinesInOrder(dir, 'error_log').filter((l) => l.includes('[app:stdout]'));
      assert.equal(printed.length, served * N);
      if (rotating) assert.ok(logFiles(dir, 'error_log.').length >= 4, logFiles(dir, 'error_log.').join(' '));
      const next = new Map<string, number>();
      for (const line of printed) {
        const m = /^\[[^\]]+\] \[app:stdout\] \[pid (\d+)\] \[rid [^\]]+\] (P (\d+) (\d+) x+)$/.exec(line);
        assert.ok(m, `not a whole line: ${line.slice(0, 120)}`);
        assert.equal(m[1], m[3], 'the pid the line was printed by');
        assert.equal(m[2]!.length, SIZE, 'the whole line, nothing more or less');
        // Each request prints 0..N-1 in one go: per worker the numbers run in order.
        const expected = next.get(m[1]!) ?? 0;
        assert.equal(Number(m[4]), expected, `worker ${m[1]}'s order`);
        next.set(m[1]!, (expected + 1) % N);
      }
      assert.equal(next.size, 2, 'both workers printed');
    });
  }

  it("the app's stderr and tsgi.errors go to the error log file too, tagged with the request", async () => {
    const dir = await logDir();
    const server = await startServer([fixture('log-app.ts'), '--log-directory', dir]);
    const res = await request(`${server.url}errors?tag=E1`);
    assert.equal(await res.body.text(), 'reported');
    await stop(server);
    const lines = readFileSync(path.join(dir, 'error_log'), 'utf8').split('\n').filter((l) => l.includes('E1 '));
    const entry = (text: string) => {
      const line = lines.find((l) => l.endsWith(text));
      assert.ok(line, `${text} in:\n${lines.join('\n')}`);
      return /^\[[^\]]+\] \[([a-z]+:[a-z]+)\] \[pid (\d+)\] \[rid ([^\]]+)\] /.exec(line)!.slice(1);
    };
    const seen = ['E1 console.error', 'E1 process.stderr.write', 'E1 tsgi.errors line', 'E1 tsgi.errors partial'].map(entry);
    assert.equal(lines.length, 4, lines.join('\n'));
    assert.deepEqual(seen.map(([tag]) => tag), ['app:stderr', 'app:stderr', 'tsgi:error', 'tsgi:error']);
    // All from the one worker, all tagged with the one request's id.
    assert.equal(new Set(seen.map(([, pid, rid]) => `${pid} ${rid}`)).size, 1, JSON.stringify(seen));
  });

  it('--max-log-files keeps that many rotated files, and --compress-rotated-logs gzips them', async () => {
    const dir = await logDir();
    const server = await startServer([
      fixture('log-app.ts'), '--access-log', '--log-directory', dir, '--rotate-logs', '--max-log-size', '0.01',
      '--max-log-files', '2', '--compress-rotated-logs',
    ]);
    assert.match(server.output(), /Log Rotation {7}: at 0\.01 MiB, 2 kept, gzip/);
    await fixedLoad(origin(server), '/', 1500, 4);
    await stop(server);
    const rotated = logFiles(dir, 'access_log.');
    assert.equal(rotated.length, 2, rotated.join(' '));
    for (const name of rotated) assert.match(name, /\.gz$/);
    assert.ok(existsSync(path.join(dir, '.access_log.rotated')), 'the list of rotated files');
    // gunzipped, each holds whole lines; the newest two rotations and the active file.
    const lines = logLines(dir, 'access_log');
    assert.ok(lines.length > 100 && lines.length < 1500);
    for (const line of lines) assert.match(line, COMMON_LINE);
  });

  it('--rotate-interval rotates by time', async () => {
    const dir = await logDir();
    const server = await startServer([
      fixture('log-app.ts'), '--access-log', '--log-directory', dir, '--rotate-logs', '--rotate-interval', '1s',
    ]);
    const served = await fixedLoad(origin(server), '/', 5, 1);
    await until(() => logFiles(dir, 'access_log.').length > 0, 5000);
    const more = await fixedLoad(origin(server), '/', 5, 1);
    await stop(server);
    assert.equal(logLines(dir, 'access_log').length, served + more);
    for (const name of logFiles(dir, 'access_log.')) assert.match(name, rotatedName('access_log'));
  });

  it('custom names: each log in its named file, reopened by name on SIGUSR1, rotated and retained under that name', async () => {
    const dir = await logDir();
    const server = await startServer([
      fixture('log-app.ts'), '--processes', '2', '--access-log', '--log-directory', dir,
      '--error-log-name', 'app-errors.log', '--access-log-name', 'requests.log',
      '--startup-log', '--startup-log-name', 'boot.log',
      '--rotate-logs', '--max-log-size', '0.01', '--max-log-files', '3',
    ]);
    const out = server.output();
    assert.match(out, new RegExp(`Error Log {10}: ${dir}/app-errors\\.log \\(info\\)`));
    assert.match(out, new RegExp(`Access Log {9}: ${dir}/requests\\.log \\(common\\)`));
    assert.match(out, new RegExp(`Startup Log {8}: ${dir}/boot\\.log`));
    const file = (name: string) => path.join(dir, name);
    const lineCount = (name: string) => (existsSync(file(name)) ? readFileSync(file(name), 'utf8').split('\n').length - 1 : 0);
    const before = await fixedLoad(origin(server), '/', 5, 1);
    await until(() => lineCount('requests.log') === before);
    // What an external logrotate does to every file, then SIGUSR1: each is opened again by its name.
    for (const name of ['app-errors.log', 'requests.log']) renameSync(file(name), file(`${name}.moved`));
    server.signal('SIGUSR1');
    // Logged just before the reopen (nothing else waiting to be written), so into the moved file.
    await until(() => readFileSync(file('app-errors.log.moved'), 'utf8').includes('SIGUSR1 received'));
    // ~70 bytes of access line and 1 KiB of app output per request: both logs rotate many times (10 KiB files).
    await fixedLoad(origin(server), '/print?n=5&size=200&tag=named', 600, 4);
    await stop(server);

    assert.equal(lineCount('requests.log.moved'), before, 'nothing written to the moved file after the reopen');
    assert.doesNotMatch(readFileSync(file('app-errors.log.moved'), 'utf8'), /named \d+ \d+ x/);
    assert.ok(logLines(dir, 'app-errors.log').some((l) => l.includes('SIGTERM received')), 'the error log, reopened, goes on');
    const names = readdirSync(dir).sort();
    for (const name of ['error_log', 'access_log', 'startup_log']) assert.ok(!names.includes(name), `no ${name}: ${names.join(' ')}`);
    for (const base of ['app-errors.log', 'requests.log']) {
      const rotated = logFiles(dir, `${base}.`).filter((f) => !f.endsWith('.moved'));
      // Three kept of each log, so more than three rotations each: 600 KiB of app output, 40 KiB of access lines.
      assert.equal(rotated.length, 3, `${base}: ${names.join(' ')}`);
      for (const name of rotated) assert.match(name, rotatedName(base.replace('.', '\\.')));
      assert.ok(names.includes(`.${base}.rotated`), `the list of ${base}'s rotated files: ${names.join(' ')}`);
    }
    for (const line of logLines(dir, 'requests.log')) assert.match(line, COMMON_LINE);
    for (const line of logLines(dir, 'app-errors.log').filter((l) => l.includes('[app:stdout]'))) {
      assert.match(line, /\] named \d+ \d+ x+$/);
    }
    const boot = readFileSync(file('boot.log'), 'utf8');
    assert.match(boot, /Ready: 2 workers serving/);
    assert.doesNotMatch(boot, /named \d+ \d+ x/, 'the startup log stops at Ready');
  });

  it("a crashed worker's last output comes before the line reporting its death", async () => {
    const dir = await logDir();
    const server = await startServer([fixture('log-app.ts'), '--processes', '2', '--log-directory', dir]);
    const res = await request(`${server.url}crash-after-print?n=300`);
    await res.body.text();
    const errorLog = path.join(dir, 'error_log');
    await until(() => existsSync(errorLog) && /died/.test(readFileSync(errorLog, 'utf8')));
    await stop(server);
    const lines = readFileSync(errorLog, 'utf8').split('\n');
    const died = lines.findIndex((l) => /worker (\d+) died/.test(l));
    const pid = /worker (\d+) died/.exec(lines[died]!)![1];
    const lastWords = lines.map((l, i) => [l, i] as const).filter(([l]) => l.includes(`last words ${pid} `));
    assert.equal(lastWords.length, 300);
    assert.ok(lastWords.every(([, i]) => i < died), 'every line printed before the crash precedes the death line');
    const crash = lines.findIndex((l) => l.includes('crash after printing'));
    assert.ok(crash >= 0 && crash < died, 'the crash report precedes the death line');
  });
});
