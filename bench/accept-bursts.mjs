// node bench/accept-bursts.mjs [--trials N] [--seconds S] [--only a,b]
//
// Issue 26: does a policy of who accepts spread a FEW connections over the
// workers, not only many? For each candidate, on one server (2 workers), three
// patterns, each connection counted by the worker that answered (every answer is
// the worker's pid):
//   pool4: an undici Pool (connections: 4) sends 4 requests at once, so opens 4
//          kept-alive connections together (log-files.test.ts's load);
//   seq6:  6 connections one after another, each closed before the next
//          (tls-options.test.ts's "resumes on any worker");
//   close: wrk -c16, a new connection per request (the no-keepalive scenario),
//          with the server's CPU per request.
// Candidates: the bare cluster (bench/servers/pid-cluster.mjs) round-robin, one
// shared socket, SO_REUSEPORT (Node >= 22.12); tsgi-express as built in this tree
// (test/fixtures/app.ts's /pid), and BENCH_REF_CLI's build as `tsgi-ref`.
// BENCH_TSGI_ENV='A=1 B=2' adds `tsgi-env`: this tree's build with those
// variables in the server's environment (a policy switched by one).
// libuv's UV_TCP_SINGLE_ACCEPT is not a candidate: libuv 1.45 removed it (Node
// 20 ships 1.46, Node 24 1.52), see bench/NOTES.md. Not part of `npm run bench`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Client, Pool } from 'undici';
import { serverCpu } from './lib/cpu.mjs';
import { freePort } from './lib/port.mjs';
import { runScript, startServer } from './lib/proc.mjs';
import { hasReusePort, ROOT } from './lib/servers.mjs';
import { shares } from './lib/stats.mjs';

const { values: opts } = parseArgs({
  options: { trials: { type: 'string', default: '10' }, seconds: { type: 'string', default: '4' }, only: { type: 'string' } },
});
const TRIALS = Number(opts.trials);
const SECONDS = Number(opts.seconds);
const tmp = mkdtempSync(join(os.tmpdir(), 'tsgi-bursts-'));

const bare = (accept, env = {}) => (port) => ({
  cmd: process.execPath, args: ['bench/servers/pid-cluster.mjs'], path: '/',
  env: { PORT: String(port), HOST: '127.0.0.1', PROCESSES: '2', ACCEPT: accept, ...env },
});
const tsgi = (cli, env = {}) => (port) => ({
  cmd: process.execPath, args: [cli, 'start-server', 'test/fixtures/app.ts', '--host', '127.0.0.1', '--port', String(port), '--processes', '2'],
  path: '/pid', env,
});
const envOf = (text) => Object.fromEntries(text.split(/\s+/).filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const CANDIDATES = {
  'bare-rr': bare('rr'),
  'bare-shared': bare('shared'),
  ...(hasReusePort() ? { 'bare-reuseport': bare('reuseport') } : {}),
  tsgi: tsgi('bin/tsgi-express'),
  ...(process.env.BENCH_REF_CLI ? { 'tsgi-ref': tsgi(process.env.BENCH_REF_CLI) } : {}),
  ...(process.env.BENCH_TSGI_ENV ? { 'tsgi-env': tsgi('bin/tsgi-express', envOf(process.env.BENCH_TSGI_ENV)) } : {}),
};
const NAMES = opts.only ? opts.only.split(',') : Object.keys(CANDIDATES);

/** `3/1` for pids [a, a, b, a]: the larger count first, one number per worker (2 workers). */
const split = (pids) => {
  const counts = [...new Set(pids)].map((p) => pids.filter((q) => q === p).length).sort((a, b) => b - a);
  while (counts.length < 2) counts.push(0);
  return counts.join('/');
};
const histogram = (splits) => {
  const n = new Map();
  for (const s of splits) n.set(s, (n.get(s) ?? 0) + 1);
  return [...n].sort((a, b) => b[1] - a[1]).map(([s, k]) => `${s} x${k}`).join(', ');
};

async function pool4(origin, path) {
  const pool = new Pool(origin, { connections: 4 });
  try {
    const pids = await Promise.all([0, 1, 2, 3].map(() => pool.request({ method: 'GET', path }).then((r) => r.body.text())));
    if (pool.stats.connected !== 4) throw new Error(`the pool opened ${pool.stats.connected} connections, not 4`);
    return pids;
  } finally {
    await pool.close();
  }
}

async function seq6(origin, path) {
  const pids = [];
  for (let i = 0; i < 6; i++) {
    const client = new Client(origin);
    pids.push(await client.request({ method: 'GET', path }).then((r) => r.body.text()));
    await client.close();
  }
  return pids;
}

function closeLoad(origin, path) {
  const out = execFileSync('wrk', ['-t2', '-c16', `-d${SECONDS}s`, '-s', join(ROOT, 'bench/lib/pid-shares.lua'), origin + path], { encoding: 'utf8' });
  const counts = [...out.matchAll(/^pid (\d+) (\d+)$/gm)].map((m) => Number(m[2])).sort((a, b) => b - a);
  const [, requests, seconds, errors] = /^requests (\d+) seconds ([\d.]+) errors (\d+)$/m.exec(out);
  return { counts, requests: Number(requests), rps: Number(requests) / Number(seconds), errors: Number(errors) };
}

async function run(name) {
  const port = await freePort();
  const { cmd, args, env, path } = CANDIDATES[name](port);
  const server = await startServer({ cmd, args, env, cwd: ROOT, logFile: join(tmp, `${name}.log`) });
  const origin = `http://127.0.0.1:${port}`;
  try {
    const pools = [];
    const seqs = [];
    for (let t = 0; t < TRIALS; t++) {
      pools.push(split(await pool4(origin, path)));
      await sleep(50);
      seqs.push(split(await seq6(origin, path)));
      await sleep(50);
    }
    closeLoad(origin, path); // warm-up, 1 s would do; same length keeps it simple
    const cpu = serverCpu(server.pid);
    const load = closeLoad(origin, path);
    const cpuUs = cpu() / load.requests;
    await server.stop();
    return { pools: histogram(pools), seqs: histogram(seqs), load, cpuUs };
  } finally {
    await server.stop();
  }
}

async function main() {
  process.stdout.write(`Node ${process.version} (libuv ${process.versions.uv}), 2 workers, ${TRIALS} trials of pool4 and seq6, close: wrk -c16 ${SECONDS} s\n\n`);
  process.stdout.write('| candidate | pool4: connections per worker (trials) | seq6 (trials) | close: shares | close: req/s | CPU us/req |\n| --- | --- | --- | --- | ---: | ---: |\n');
  for (const name of NAMES) {
    const r = await run(name);
    process.stdout.write(`| ${name} | ${r.pools} | ${r.seqs} | ${shares(r.load.counts)} | ${Math.round(r.load.rps)} | ${r.cpuUs.toFixed(0)} |\n`);
  }
}

runScript(main, () => rmSync(tmp, { recursive: true, force: true }));
