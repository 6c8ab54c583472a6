// Issue 19: a slow disk never blocks request handling. strace's fault injection holds
// every write the master makes to the access log for several seconds (a disk that
// takes that long to answer); the requests sent meanwhile are all answered while
// their lines still wait to be written, and once the disk is fast again every line
// reaches the file or is counted as dropped. Skipped with a message where strace is
// missing or may not trace (ptrace refused).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fixedLoad, logLines } from '../helpers/logs.js';
import { fixture, killAll, startServer, type RunningServer } from '../helpers/server.js';

const tempDirs: string[] = [];
const tracers: ChildProcess[] = [];
after(async () => {
  for (const tracer of tracers) tracer.kill('SIGKILL');
  killAll();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const WRITES = 'write,writev,pwrite64,pwritev,pwritev2';
/** How long each write to the access log is held: far longer than the load below takes. */
const HOLD_SECONDS = 6;

interface Tracer {
  /** Resolves once strace has reported a held write (at its end; only the file's syscalls are traced, and a held one may print as "<... write resumed>" on a line of its own), with what it printed. */
  held(): Promise<string>;
  /** Lets the master go; resolves once strace has exited. */
  detach(): Promise<void>;
}

/** Traces the master's threads, holding each write to `file` HOLD_SECONDS before it runs. */
async function slowDisk(server: RunningServer, file: string): Promise<Tracer | Error> {
  const tracer = spawn('strace', ['-f', '-y', '-p', String(server.pid), '-P', file, '-e', `trace=${WRITES}`,
    '-e', `inject=${WRITES}:delay_enter=${HOLD_SECONDS * 1_000_000}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  tracers.push(tracer);
  let text = '';
  tracer.stderr!.on('data', (d) => (text += d));
  const exited = new Promise<void>((resolve) => tracer.once('close', () => resolve()));
  const attached = await Promise.race([
    (async () => {
      while (!/attached/.test(text)) await new Promise((r) => setTimeout(r, 50));
      return true;
    })(),
    exited.then(() => false),
  ]);
  if (!attached) return new Error(text.trim().split('\n')[0] ?? 'strace exited');
  return {
    async held() {
      const deadline = Date.now() + (HOLD_SECONDS + 10) * 1000;
      while (!/\(DELAYED\)/.test(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return text;
    },
    async detach() {
      tracer.kill('SIGINT');
      await exited;
    },
  };
}

/** The whole lines in the access log so far: while the master writes, the file may end inside a line. */
function wholeLines(dir: string): number {
  return readFileSync(path.join(dir, 'access_log'), 'utf8').split('\n').length - 1;
}

async function waitForLines(dir: string, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (wholeLines(dir) < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}

function stracePresent(): boolean {
  return spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;
}

describe('a slow log disk', { timeout: 90_000 }, () => {
  for (const extra of [[], ['--rotate-logs']]) {
    it(`answers every request while each access-log write takes ${HOLD_SECONDS} s, and writes every line afterwards${extra.length ? ` (${extra.join(' ')})` : ''}`, async (t) => {
      if (!stracePresent()) return t.skip('strace is not installed (.ci/run installs it)');
      const dir = await mkdtemp(path.join(tmpdir(), 'tsgi-slow-disk-'));
      tempDirs.push(dir);
      const server = await startServer([fixture('log-app.ts'), '--processes', '2', '--access-log', '--log-directory', dir, ...extra]);
      const origin = server.url.replace(/\/$/, '');
      let served = await fixedLoad(origin, '/', 20, 2);
      await waitForLines(dir, served);
      assert.equal(logLines(dir, 'access_log').length, served, 'the warm-up is written');

      const disk = await slowDisk(server, path.join(dir, 'access_log'));
      if (disk instanceof Error) return t.skip(`strace cannot trace the master here: ${disk.message}`);
      let stalled = 0;
      try {
        served += await fixedLoad(origin, '/', 300, 8);
        // Every request has its answer, and (the disk still holding the first write) not its line.
        stalled = served - wholeLines(dir);
        const trace = await disk.held();
        assert.match(trace, /\(DELAYED\)/, `a write to the access log was held:\n${trace.slice(-2000)}`);
      } finally {
        await disk.detach();
      }
      assert.ok(stalled >= 250, `the requests did not wait for the disk: ${stalled} of 300 lines were not yet written when all had been answered`);

      await waitForLines(dir, served);
      const lines = logLines(dir, 'access_log');
      assert.equal(lines.length, served, 'every line reaches the file once the disk is fast again (none dropped: far under the bound)');
      for (const line of lines) assert.match(line, /"GET \/ HTTP\/1\.1" 200 /);
      assert.equal(await fixedLoad(origin, '/', 10, 2), 10, 'still serving');
    });
  }
});
