// node bench/instructions.mjs [--requests N] [--warm N] [--path P] [--https] server ...
// CPU instructions per request, which a loaded machine does not move (perf's hardware
// counters are not available in this VM): each server (bench/lib/servers.mjs names, one
// worker: BENCH_PROCESSES=1) runs under valgrind's callgrind with its children traced;
// after --warm keep-alive requests every process of it has its counters zeroed
// (callgrind_control -z), --requests more are sent (4 connections), the counters are
// dumped (-d), and the instructions of all its processes are summed and divided by
// the requests. The load generator is not counted, nor esbuild (tsx's transpiler, a Go
// binary valgrind cannot run: it runs untraced). Servers run one after another.
// The figure printed first leaves out V8's background compiler threads (jitInstructions).
// Under valgrind JavaScript reaches its optimized tiers late: after the default 1,500
// warm-up requests much of it still runs unoptimized, which inflates JS-heavy servers
// (hello: bare 113,546 / tsgi 199,126 = 0.57); after --warm 20000 the ratio (88,804 /
// 107,500 = 0.83) agrees with CPU time per request outside valgrind (0.85-0.90). Compare
// servers with --warm 20000 (a run of two servers then takes ~15 min on a quiet machine).
process.env.BENCH_PROCESSES = '1';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { SERVERS, ROOT } = await import('./lib/servers.mjs');
const { freePort } = await import('./lib/port.mjs');
const { killAll, startServer } = await import('./lib/proc.mjs');

const { values: opts, positionals: names } = parseArgs({
  allowPositionals: true,
  options: { requests: { type: 'string', default: '1500' }, warm: { type: 'string', default: '1500' }, path: { type: 'string', default: '/' }, https: { type: 'boolean', default: false } },
});

/** n GET requests over 4 kept-alive connections; resolves when all are answered with 200. */
async function drive(port, n) {
  // --https: the https servers (bare-https, tsgi-https) use the bench's own certificate.
  const client = opts.https ? https : http;
  const agent = new client.Agent({ keepAlive: true, maxSockets: 4, rejectUnauthorized: false });
  let next = 0;
  const one = () => new Promise((resolve, reject) => {
    client.get({ host: '127.0.0.1', port, path: opts.path, agent }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
      res.resume().on('end', resolve);
    }).on('error', reject);
  });
  const lane = async () => { while (next++ < n) await one(); };
  await Promise.all([lane(), lane(), lane(), lane()]);
  agent.destroy();
}

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

/** The pids of the processes valgrind runs for this server (its process group). */
function groupPids(pgid) {
  const out = execFileSync('pgrep', ['-g', String(pgid)], { encoding: 'utf8' });
  return out.split('\n').map((s) => Number(s.trim())).filter(Boolean);
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
        args: ['--tool=callgrind', '--trace-children=yes', '--trace-children-skip=*esbuild*', `--callgrind-out-file=${join(dir, 'cg.%p')}`, cmd, ...args],
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
    await drive(port, Number(opts.warm));
    const pids = groupPids(server.pid);
    for (const pid of pids) try { control('-z', pid, env); } catch {}
    const before = new Set(readdirSync(dir));
    await drive(port, Number(opts.requests));
    for (const pid of pids) try { control('-d', pid, env); } catch {}
    let total = 0;
    let jit = 0;
    for (const file of readdirSync(dir)) {
      if (before.has(file) || !/^cg\.\d+\.\d+$/.test(file)) continue;
      const m = /^summary: (\d+)/m.exec(readFileSync(join(dir, file), 'utf8'));
      if (m) total += Number(m[1]);
      jit += jitInstructions(join(dir, file));
    }
    if (total === 0) throw new Error(`${name}: no callgrind dump was written (callgrind_control failed)`);
    const perRequest = (n) => Math.round(n / Number(opts.requests)).toLocaleString('en').padStart(10);
    process.stdout.write(`${name.padEnd(18)} ${perRequest(total - jit)} instructions/request without the JIT's background compiles (${perRequest(total).trim()} with them; ${opts.requests} requests after ${opts.warm}, ${opts.path})\n`);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
killAll();
