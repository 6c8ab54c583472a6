// node bench/instructions.mjs [--requests N] [--warm N] [--path P] server ...
// CPU instructions per request, which a loaded machine does not move (perf's hardware
// counters are not available in this VM): each server (bench/lib/servers.mjs names, one
// worker: BENCH_PROCESSES=1) runs under valgrind's callgrind with its children traced;
// after --warm keep-alive requests every process of it has its counters zeroed
// (callgrind_control -z), --requests more are sent (4 connections), the counters are
// dumped (-d), and the instructions of all its processes are summed and divided by
// the requests. The load generator is not counted, nor esbuild (tsx's transpiler, a Go
// binary valgrind cannot run: it runs untraced). Servers run one after another.
process.env.BENCH_PROCESSES = '1';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { SERVERS, ROOT } = await import('./lib/servers.mjs');
const { freePort } = await import('./lib/port.mjs');
const { killAll, startServer } = await import('./lib/proc.mjs');

const { values: opts, positionals: names } = parseArgs({
  allowPositionals: true,
  options: { requests: { type: 'string', default: '1500' }, warm: { type: 'string', default: '1500' }, path: { type: 'string', default: '/' } },
});

/** n GET requests over 4 kept-alive connections; resolves when all are answered with 200. */
async function drive(port, n) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  let next = 0;
  const one = () => new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: opts.path, agent }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
      res.resume().on('end', resolve);
    }).on('error', reject);
  });
  const lane = async () => { while (next++ < n) await one(); };
  await Promise.all([lane(), lane(), lane(), lane()]);
  agent.destroy();
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
    for (const file of readdirSync(dir)) {
      if (before.has(file) || !/^cg\.\d+\.\d+$/.test(file)) continue;
      const m = /^summary: (\d+)/m.exec(readFileSync(join(dir, file), 'utf8'));
      if (m) total += Number(m[1]);
    }
    if (total === 0) throw new Error(`${name}: no callgrind dump was written (callgrind_control failed)`);
    process.stdout.write(`${name.padEnd(18)} ${Math.round(total / Number(opts.requests)).toLocaleString('en').padStart(10)} instructions/request (${opts.requests} requests after ${opts.warm}, ${opts.path})\n`);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
killAll();
