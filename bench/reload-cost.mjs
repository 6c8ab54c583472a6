// node bench/reload-cost.mjs [--cli bin/tsgi-express] [--app bench/apps/hello.ts] [--starts N | --reloads N] [--seconds S] [--processes N] [--no-load] [-- extra tsgi-express flags]
// What a reload costs (issue 26): the CPU time of each new worker's start (user+sys of the
// worker's threads at `ready`, and of esbuild's service process if tsx started one; read by
// bench/lib/worker-start-probe.cjs, which the workers preload), the server's whole CPU time
// per reload, the wall time from a saved change to the first response with the new body
// (a new worker serves as soon as it listens) and to "Reload complete", and the throughput of a keep-alive hello
// load while the server reloads back to back (the next save as soon as a reload completes),
// against the same load with no reload. Every save writes a body no earlier run wrote, so
// tsx's transform cache never has the entry file already. Runs under the node that runs it
// (`PATH=$(.ci/node-version.sh 24):$PATH node bench/reload-cost.mjs`); NODE_COMPILE_CACHE
// and TSX_DISABLE_CACHE in its environment reach the server. Not part of `npm run bench`.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runLoad } from './lib/load.mjs';
import { freePort } from './lib/port.mjs';
import { startServer } from './lib/proc.mjs';
import { ROOT } from './lib/servers.mjs';
import { pollUntil } from './lib/startup.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    reloads: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '10' },
    processes: { type: 'string', default: '2' },
    'no-load': { type: 'boolean', default: false },
    app: { type: 'string', default: 'bench/apps/hello.ts' },
    starts: { type: 'string', default: '0' },
    cli: { type: 'string', default: 'bin/tsgi-express' },
  },
});
const RELOADS = Number(values.reloads);
const SECONDS = Number(values.seconds);
const PROCESSES = Number(values.processes);
const PROBE = join(ROOT, 'bench/lib/worker-start-probe.cjs');
const NONCE = `${process.pid}-${Date.now()}`;

/**
 * CPU time (ms) of the server so far: its living processes with the children each
 * reaped (the master's: the workers that exited; a worker's: esbuild). A process that
 * has exited counts in its parent's, so nothing is counted twice.
 */
function treeCpuMs(pgid) {
  let ticks = 0;
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) > 57) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) !== pgid) continue;
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {}
  }
  return ticks * 10;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let saves = 0;
/** Saves the app with a body never served before; returns that body. */
function save(script, original) {
  const text = `Hello ${NONCE} ${++saves}!`;
  writeFileSync(script, original.replace('Hello world!', text));
  return text;
}

const count = (file, re) => (readFileSync(file, 'utf8').match(re) ?? []).length;

/** Saves, then waits for the master to log the reload's end (complete or failed). */
async function reloadOnce(script, original, logFile) {
  const before = count(logFile, /Reload (complete|failed)/g);
  save(script, original);
  while (count(logFile, /Reload (complete|failed)/g) === before) await sleep(10);
}

/**
 * --starts N: N servers of one worker started one after the other, each stopped once
 * ready: the CPU of a worker start with every file in tsx's cache ("cached": the app as
 * saved before), and with the entry file changed ("changed": a body never served, which
 * tsx must transform, as the new workers of a reload after a save).
 */
async function startCosts(n) {
  const tmp = mkdtempSync(join(os.tmpdir(), 'tsgi-reload-cost-'));
  const script = join(tmp, 'hello.ts');
  const original = readFileSync(join(ROOT, values.app), 'utf8');
  const log = join(tmp, 'starts.jsonl');
  const env = { TSGI_BENCH_START_LOG: log, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${PROBE}`.trim() };
  const runs = { cached: [], changed: [] };
  try {
    for (let i = 0; i < 2 * n; i++) {
      const kind = i % 2 === 0 ? 'cached' : 'changed';
      if (kind === 'cached') writeFileSync(script, original);
      else save(script, original);
      const args = [values.cli, 'start-server', script, '--host', '127.0.0.1', '--port', String(await freePort()), '--processes', '1', ...positionals];
      const server = await startServer({ cmd: process.execPath, args, env, cwd: ROOT, logFile: join(tmp, 'server.log') });
      await server.stop();
      const lines = readFileSync(log, 'utf8').trim().split('\n');
      runs[kind].push(JSON.parse(lines.at(-1)));
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`node ${process.version}, ${values.cli}; NODE_COMPILE_CACHE=${process.env.NODE_COMPILE_CACHE ?? ''} ${positionals.join(' ')}`);
  for (const [kind, xs] of Object.entries(runs)) {
    const cpu = xs.map((x) => x.cpuMs + x.childCpuMs);
    console.log(`${kind.padEnd(7)} worker start CPU ms: median ${median(cpu).toFixed(0)}, min ${Math.min(...cpu).toFixed(0)} (${cpu.map((c) => c.toFixed(0)).join(' ')}); ready after ms: median ${median(xs.map((x) => x.uptimeMs)).toFixed(0)}`);
  }
}

async function main() {
  if (Number(values.starts) > 0) return startCosts(Number(values.starts));
  const tmp = mkdtempSync(join(os.tmpdir(), 'tsgi-reload-cost-'));
  const script = join(tmp, 'hello.ts');
  copyFileSync(join(ROOT, values.app), script);
  const original = readFileSync(script, 'utf8');
  const starts = join(tmp, 'starts.jsonl');
  const logFile = join(tmp, 'server.log');
  const port = await freePort();
  const env = { TSGI_BENCH_START_LOG: starts, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${PROBE}`.trim() };
  const args = [values.cli, 'start-server', script, '--host', '127.0.0.1', '--port', String(port), '--processes', String(PROCESSES), ...positionals];
  const server = await startServer({ cmd: process.execPath, args, env, cwd: ROOT, logFile });
  try {
    console.log(`node ${process.version}, ${values.cli}, ${PROCESSES} workers; NODE_COMPILE_CACHE=${process.env.NODE_COMPILE_CACHE ?? ''} TSX_DISABLE_CACHE=${process.env.TSX_DISABLE_CACHE ?? ''} ${positionals.join(' ')}`);
    const walls = [];
    const completes = [];
    const cpu0 = treeCpuMs(server.pid);
    let idle = 0;
    for (let i = 0; i < RELOADS; i++) {
      await sleep(300);
      idle += 300;
      const before = count(logFile, /Reload (complete|failed)/g);
      const t0 = performance.now();
      const text = save(script, original);
      await pollUntil(port, (r) => r.status === 200 && r.body === text, 20_000);
      walls.push(performance.now() - t0);
      while (count(logFile, /Reload (complete|failed)/g) === before) await sleep(5);
      completes.push(performance.now() - t0);
    }
    // The whole process group (master, workers old and new, esbuild): what the reloads took from serving.
    await sleep(1000);
    const reloadsDone = count(logFile, /Reload complete/g);
    const cpuPerReloadMs = (treeCpuMs(server.pid) - cpu0) / reloadsDone;
    const lines = readFileSync(starts, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const first = lines.slice(0, PROCESSES);
    const later = lines.slice(PROCESSES);
    const fmt = (xs, key) => `${median(xs.map((x) => x[key])).toFixed(0)} (${xs.map((x) => x[key].toFixed(0)).join(' ')})`;
    console.log(`first start: worker CPU ms ${fmt(first, 'cpuMs')}; esbuild CPU ms ${fmt(first, 'childCpuMs')}; ready after ms ${fmt(first, 'uptimeMs')}`);
    console.log(`reload starts: worker CPU ms ${fmt(later, 'cpuMs')}; esbuild CPU ms ${fmt(later, 'childCpuMs')}; ready after ms ${fmt(later, 'uptimeMs')}`);
    console.log(`server CPU per reload ms: ${cpuPerReloadMs.toFixed(0)} (the whole process group over ${reloadsDone} reloads for ${RELOADS} saves, ${idle + 1000} ms of idle waits included)`);
    console.log(`reload wall ms, save to the first response of the new code: median ${median(walls).toFixed(0)} (${walls.map((w) => w.toFixed(0)).join(' ')}); to "Reload complete" (the old workers told to drain): median ${median(completes).toFixed(0)} (${completes.map((w) => w.toFixed(0)).join(' ')}) [loaded, provisional]`);
    if (values['no-load']) return;
    const load = { url: `http://127.0.0.1:${port}/`, seconds: SECONDS, connections: 50 };
    const steady = await runLoad(load);
    let done = false;
    let reloads = 0;
    const storm = (async () => {
      while (!done) {
        await reloadOnce(script, original, logFile);
        reloads++;
      }
    })();
    const during = await runLoad(load);
    done = true;
    await storm;
    console.log(`steady ${steady.rps.toFixed(0)} req/s (errors ${steady.errors}); during back-to-back reloads ${during.rps.toFixed(0)} req/s (errors ${during.errors}, ${reloads} reloads in ${SECONDS} s): ratio ${(during.rps / steady.rps).toFixed(2)} [loaded, provisional]`);
  } finally {
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
