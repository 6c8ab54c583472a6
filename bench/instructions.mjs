// node bench/instructions.mjs [--requests N] [--warm N] [--path P] [--https] [--upload BYTES] [--split] [--keep DIR] server ...
// CPU instructions per request, which a loaded machine does not move (perf's hardware
// counters are not available in this VM): each server (bench/lib/servers.mjs names, one
// worker: BENCH_PROCESSES=1) runs under valgrind's callgrind with its children traced;
// after --warm keep-alive requests every process of it has its counters zeroed
// (callgrind_control -z), --requests more are sent (4 connections), the counters are
// dumped (-d), and the instructions of all its processes are summed and divided by
// the requests. The load generator is not counted, nor esbuild (tsx's transpiler, a Go
// binary valgrind cannot run: it runs untraced). Servers run one after another.
// --upload N: POST N bytes to --path instead of a GET (the upload scenario: --path /upload
// --upload 1048576). --split: each process on a line of its own (worker vs master), its
// main thread apart from its other threads (V8's compiler and GC helpers, libuv's pool,
// worker threads). --keep DIR: keep the callgrind dumps there (one directory per server)
// for callgrind_annotate.
// The figure printed first leaves out V8's background compiler threads (jitInstructions).
// Under valgrind JavaScript reaches its optimized tiers late: after the default 1,500
// warm-up requests much of it still runs unoptimized, which inflates JS-heavy servers
// (hello: bare 113,546 / tsgi 199,126 = 0.57); after --warm 20000 the ratio (88,804 /
// 107,500 = 0.83) agrees with CPU time per request outside valgrind (0.85-0.90). Compare
// servers with --warm 20000 (a run of two servers then takes ~15 min on a quiet machine).
process.env.BENCH_PROCESSES = '1';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { SERVERS, ROOT } = await import('./lib/servers.mjs');
const { freePort } = await import('./lib/port.mjs');
const { killAll, startServer } = await import('./lib/proc.mjs');
const { drive, groupPids } = await import('./lib/drive.mjs');

const { values: opts, positionals: names } = parseArgs({
  allowPositionals: true,
  options: {
    requests: { type: 'string', default: '1500' },
    warm: { type: 'string', default: '1500' },
    path: { type: 'string', default: '/' },
    https: { type: 'boolean', default: false },
    upload: { type: 'string' },
    split: { type: 'boolean', default: false },
    keep: { type: 'string' },
  },
});
const UPLOAD = opts.upload === undefined ? undefined : Buffer.alloc(Number(opts.upload), 'u');
// --https: the https servers (bare-https, tsgi-https) use the bench's own certificate.
const load = { path: opts.path, upload: UPLOAD, https: opts.https };

/**
 * Instructions a dump spent in V8's background compiler threads (TurboFan, and Maglev
 * on Node 22+). Under valgrind a function gets hot late and its optimizing compile
 * lands inside the counted requests, in amounts that vary from run to run (measured:
 * 66% of a tsgi-express HTTPS worker's count after 1,500 warm-up requests), so the
 * figure that compares servers leaves them out; it is warm-up, not work per request.
 */
function jitInstructions(file) {
  const out = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  let sum = 0;
  for (const line of out.split('\n')) {
    if (!/OptimizingCompileDispatcher::CompileTask::RunInternal\(|MaglevConcurrentDispatcher::JobTask::Run\(/.test(line)) continue;
    const m = /^\s*([\d,]+)/.exec(line);
    if (m) sum += Number(m[1].replaceAll(',', ''));
  }
  return sum;
}

/** vgdb finds a process by a file named after $HOST as the process saw it: give callgrind_control the server's. */
function control(flag, pid, serverEnv) {
  const env = { ...process.env };
  if (serverEnv?.HOST === undefined) delete env.HOST;
  else env.HOST = serverEnv.HOST;
  execFileSync('callgrind_control', [flag, String(pid)], { stdio: 'ignore', env });
}

for (const name of names) {
  const spec = SERVERS[name];
  if (!spec) throw new Error(`no server ${name}`);
  const dir = mkdtempSync(join(os.tmpdir(), 'tsgi-insn-'));
  // The port is free when picked; a slow start under valgrind leaves time for another
  // process to take it: start again on another.
  let port;
  let server;
  let env;
  for (let attempt = 1; server === undefined; attempt++) {
    port = await freePort();
    const { cmd, args: given, env: serverEnv } = spec.command(port);
    env = serverEnv;
    // A worker under valgrind takes minutes to load its app.
    const args = given.includes('start-server') ? [...given, '--startup-timeout', '900'] : given;
    try {
      server = await startServer({
        cmd: 'valgrind',
        args: ['--tool=callgrind', '--trace-children=yes', '--trace-children-skip=*esbuild*', '--separate-threads=yes', `--callgrind-out-file=${join(dir, 'cg.%p')}`, cmd, ...args],
        env: { ...env, PROCESSES: '1' },
        cwd: ROOT,
        logFile: join(dir, 'server.log'),
        ready: spec.ready,
        timeoutMs: 900_000,
      });
    } catch (err) {
      if (attempt === 3 || !/EADDRINUSE/.test(err.message)) throw err;
    }
  }
  try {
    await drive(port, Number(opts.warm), load);
    const pids = groupPids(server.pid);
    for (const pid of pids) try { control('-z', pid, env); } catch {}
    const before = new Set(readdirSync(dir));
    await drive(port, Number(opts.requests), load);
    for (const pid of pids) try { control('-d', pid, env); } catch {}
    let total = 0;
    let jit = 0;
    const files = [];
    /** pid -> { cmd, main, other } */
    const processes = new Map();
    for (const file of readdirSync(dir)) {
      // cg.PID.PART-THREAD (--separate-threads): thread 01 is the process's main thread.
      const thread = /^cg\.(\d+)\.\d+-(\d+)$/.exec(file);
      if (before.has(file) || !thread) continue;
      const text = readFileSync(join(dir, file), 'utf8');
      const m = /^summary: (\d+)/m.exec(text);
      if (!m) continue;
      files.push(file);
      total += Number(m[1]);
      if (Number(thread[2]) !== 1) jit += jitInstructions(join(dir, file));
      const p = processes.get(thread[1]) ?? { cmd: /^cmd: (.*)$/m.exec(text)?.[1]?.trim() ?? '?', main: 0, other: 0 };
      if (Number(thread[2]) === 1) p.main += Number(m[1]);
      else p.other += Number(m[1]);
      processes.set(thread[1], p);
    }
    if (total === 0) throw new Error(`${name}: no callgrind dump was written (callgrind_control failed)`);
    const perRequest = (n) => Math.round(n / Number(opts.requests)).toLocaleString('en').padStart(10);
    if (opts.split) {
      for (const [pid, p] of [...processes].sort((a, b) => b[1].main - a[1].main)) {
        process.stdout.write(`  pid ${pid.padEnd(8)} main thread ${perRequest(p.main)}, other threads ${perRequest(p.other)}  ${p.cmd.slice(0, 90)}\n`);
      }
    }
    if (opts.keep) {
      const to = join(opts.keep, name);
      mkdirSync(to, { recursive: true });
      for (const file of files) cpSync(join(dir, file), join(to, file));
    }
    const what = `${UPLOAD ? `POST ${UPLOAD.length} bytes to ` : ''}${opts.path}`;
    process.stdout.write(`${name.padEnd(18)} ${perRequest(total - jit)} instructions/request without the JIT's background compiles (${perRequest(total).trim()} with them; ${opts.requests} requests after ${opts.warm}, ${what})\n`);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
killAll();
