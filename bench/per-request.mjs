// node bench/per-request.mjs [--requests N] [--warm N] [--rounds N] [--path P] [--upload BYTES] [--strace] server ...
// CPU time and syscalls per request of each named server (bench/lib/servers.mjs names, one
// worker: BENCH_PROCESSES=1), natively, each process of the server on its own line (the
// master apart from the worker: the access log's cost is split between them). The servers
// are started once and measured in turns, round after round, so a change in the machine's
// load falls on all of them alike: after --warm requests, --requests more (4 kept-alive
// connections; a GET of --path, or a POST of --upload bytes), and the CPU time every thread
// of each process spent meanwhile (/proc/PID/task/*/schedstat, nanoseconds) divided by them.
// --strace: then one more run of --requests with `strace -c -f` attached to each process,
// its syscalls per request (strace slows the server: its CPU is not counted).
// The load generator's own CPU is not counted. A loaded machine moves these figures less than
// req/s, but it does move them (caches, frequency): compare servers within one run.
process.env.BENCH_PROCESSES = '1';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { SERVERS, ROOT } = await import('./lib/servers.mjs');
const { freePort } = await import('./lib/port.mjs');
const { killAll, startServer } = await import('./lib/proc.mjs');
const { drive, groupPids } = await import('./lib/drive.mjs');
const { median } = await import('./lib/stats.mjs');

const { values: opts, positionals: names } = parseArgs({
  allowPositionals: true,
  options: {
    requests: { type: 'string', default: '20000' },
    warm: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '3' },
    path: { type: 'string', default: '/' },
    upload: { type: 'string' },
    strace: { type: 'boolean', default: false },
  },
});
const N = Number(opts.requests);
const load = { path: opts.path, upload: opts.upload === undefined ? undefined : Buffer.alloc(Number(opts.upload), 'u') };

/** Nanoseconds on CPU of every live thread of `pid`. */
function cpuNs(pid) {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {}
  }
  return ns;
}

/** utime and stime of `pid` (all its threads), in clock ticks (10 ms). */
function ticks(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return [Number(f[11]), Number(f[12])];
}

/** Each pid's role: a process whose parent is in the group is a worker, the group's leader the master. */
function roles(pids) {
  const out = new Map();
  for (const pid of pids) {
    const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
    out.set(pid, pids.includes(ppid) ? 'worker' : 'master');
  }
  return out;
}

const started = [];
const dir = mkdtempSync(join(os.tmpdir(), 'tsgi-per-request-'));
try {
  for (const name of names) {
    const spec = SERVERS[name];
    if (!spec) throw new Error(`no server ${name}`);
    const port = await freePort();
    const { cmd, args, env } = spec.command(port);
    const server = await startServer({ cmd, args, env: { ...env, PROCESSES: '1' }, cwd: ROOT, logFile: join(dir, `${name}.log`), ready: spec.ready, timeoutMs: 60_000 });
    await drive(port, Number(opts.warm), load);
    started.push({ name, port, server, pids: groupPids(server.pid), samples: new Map() });
  }
  for (let round = 0; round < Number(opts.rounds); round++) {
    for (const s of started) {
      const before = new Map(s.pids.map((pid) => [pid, [cpuNs(pid), ticks(pid)]]));
      await drive(s.port, N, load);
      for (const pid of s.pids) {
        const list = s.samples.get(pid) ?? [];
        const [ns, [user, sys]] = before.get(pid);
        const [user2, sys2] = ticks(pid);
        list.push({ us: (cpuNs(pid) - ns) / 1000 / N, sysShare: (sys2 - sys) / Math.max(1, user2 - user + sys2 - sys) });
        s.samples.set(pid, list);
      }
    }
  }
  const what = `${N} requests x ${opts.rounds} rounds, ${load.upload ? `POST ${load.upload.length} bytes to ` : ''}${opts.path}`;
  process.stdout.write(`CPU us/request (${what}; rounds, then the median and the share of it in the kernel)\n`);
  for (const s of started) {
    const r = roles(s.pids);
    let total = 0;
    for (const [pid, list] of s.samples) {
      const us = median(list.map((v) => v.us));
      const sys = median(list.map((v) => v.sysShare));
      total += us;
      process.stdout.write(`  ${s.name.padEnd(18)} ${r.get(pid).padEnd(6)} ${list.map((v) => v.us.toFixed(1)).join(' / ').padEnd(26)} ${us.toFixed(2).padStart(8)}  sys ${(sys * 100).toFixed(0)}%\n`);
    }
    process.stdout.write(`  ${s.name.padEnd(18)} all    ${''.padEnd(26)} ${total.toFixed(2).padStart(8)}\n`);
  }
  if (opts.strace) {
    process.stdout.write(`syscalls/request (strace -c -f, ${N} requests)\n`);
    for (const s of started) {
      const r = roles(s.pids);
      const traces = s.pids.map((pid) => {
        const out = join(dir, `strace.${pid}`);
        const child = spawn('strace', ['-c', '-f', '-o', out, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
        const attached = new Promise((resolve) => {
          let err = '';
          child.stderr.on('data', (d) => {
            err += d;
            if (/attached/.test(err)) resolve();
          });
          setTimeout(resolve, 3000);
        });
        return { pid, out, child, attached };
      });
      await Promise.all(traces.map((t) => t.attached));
      await drive(s.port, N, load);
      for (const t of traces) {
        await new Promise((resolve) => {
          t.child.once('exit', resolve);
          t.child.kill('SIGINT');
        });
        const rows = readFileSync(t.out, 'utf8').split('\n')
          .map((line) => /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/.exec(line))
          .filter((m) => m && m[2] !== 'total')
          .map((m) => [m[2], Number(m[1]) / N])
          .filter(([, per]) => per >= 0.01);
        const sum = rows.reduce((a, [, per]) => a + per, 0);
        process.stdout.write(`  ${s.name.padEnd(18)} ${r.get(t.pid).padEnd(6)} ${sum.toFixed(2).padStart(6)}  ${rows.map(([n, per]) => `${n} ${per.toFixed(2)}`).join(', ')}\n`);
      }
    }
  }
} finally {
  for (const s of started) await s.server.stop();
  rmSync(dir, { recursive: true, force: true });
  killAll();
}
