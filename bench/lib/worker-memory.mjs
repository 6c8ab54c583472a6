// A worker's memory at Ready and at its peak under load, per Node line (issue 26:
// a worker <= a bare node:http worker + 15 MB). Each server runs one worker
// (BENCH_PROCESSES=1, set by the caller before servers.mjs is imported) on the Node
// binary running this module; a run on another line is this module re-run by that
// binary (bench/worker-memory.mjs --node 24), so bare and tsgi are always compared
// on the same binary.
//
// Per server: VmRSS, RssAnon and RssFile of the worker 1 s after Ready (the largest
// non-leader process of the group: an esbuild child, when there is one, is smaller),
// its threads, then VmHWM (the kernel's own peak, not a 100 ms sample) after `seconds`
// of `wrk -t1 -c50` on the hello path, after a 1 s warm-up.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runLoad } from './load.mjs';
import { freePort } from './port.mjs';
import { startServer } from './proc.mjs';
import { groupMembers } from './rss.mjs';
import { ROOT, SERVERS } from './servers.mjs';

const SETTLE_MS = 1000;

function status(pid) {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
}

function kb(text, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** The thread names of `pid`, counted: "MainThread, WorkerThread, libuv-worker x4, ...". */
function threads(pid) {
  const counts = new Map();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
  } catch {}
  return [...counts].map(([n, c]) => (c > 1 ? `${n} x${c}` : n)).join(', ');
}

/** The group's largest non-leader process: the worker. */
function workerOf(leader) {
  let best;
  for (const pid of groupMembers(leader)) {
    if (pid === leader) continue;
    const rss = kb(status(pid), 'VmRSS');
    if (!best || rss > best.rss) best = { pid, rss };
  }
  return best?.pid;
}

async function start(name, tmp) {
  const spec = SERVERS[name];
  if (!spec) throw new Error(`no server named ${name}`);
  const port = await freePort();
  const { cmd, args, env } = spec.command(port);
  return { port, server: await startServer({ cmd, args, env, cwd: ROOT, logFile: join(tmp, `memory-${name}.log`), ready: spec.ready }) };
}

/**
 * { name: { readyKb, anonKb, fileKb, threads, peakKb, rps } } for each server. Each is
 * started once before it is measured, so that tsx's disk cache holds the app compiled by
 * this binary: a worker that had to compile it keeps ~12 MB more (esbuild's stopped thread).
 */
export async function measureWorkerMemory(names, { seconds = 5, path = '/', tmp, log = () => {} } = {}) {
  const out = {};
  for (const name of names) await (await start(name, tmp)).server.stop();
  for (const name of names) {
    const { port, server } = await start(name, tmp);
    try {
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const pid = workerOf(server.pid);
      if (!pid) throw new Error(`${name}: no worker process found`);
      const ready = status(pid);
      const row = { pid, readyKb: kb(ready, 'VmRSS'), anonKb: kb(ready, 'RssAnon'), fileKb: kb(ready, 'RssFile'), threads: threads(pid) };
      const load = { url: `http://127.0.0.1:${port}${path}`, connections: 50 };
      await runLoad({ ...load, seconds: 1 });
      const r = await runLoad({ ...load, seconds });
      row.peakKb = kb(status(pid), 'VmHWM');
      row.rps = r.rps;
      out[name] = row;
      log(`  ${process.version} ${name.padEnd(14)} ready ${(row.readyKb / 1024).toFixed(1)} MB (anon ${(row.anonKb / 1024).toFixed(1)}, file ${(row.fileKb / 1024).toFixed(1)})  peak ${(row.peakKb / 1024).toFixed(1)} MB  threads: ${row.threads}`);
    } finally {
      await server.stop();
    }
  }
  return out;
}

const CLI = new URL('../worker-memory.mjs', import.meta.url).pathname;

/** The bin directory of Node `major`: this node's for its own major, else the pinned one `.ci/node-version.sh` fetches. */
export function nodeBin(major) {
  if (String(major) === process.versions.node.split('.')[0]) return dirname(process.execPath);
  return execFileSync(join(ROOT, '.ci/node-version.sh'), [String(major)], { encoding: 'utf8' }).trim();
}

/**
 * Runs bench/worker-memory.mjs on each Node line in `majors` (a child per line, so each
 * measures with its own binary and one worker per server): [[version, rounds], ...],
 * each round { server: row }. A line whose binary cannot be had is left out, with a note.
 */
export function measureNodeLines(majors, { servers, seconds, rounds = 1, log = () => {} }) {
  const byNode = [];
  for (const major of majors) {
    let bin;
    try {
      bin = nodeBin(major);
    } catch (err) {
      log(`  worker memory: no Node ${major} binary (${String(err.message).split('\n')[0]}); left out`);
      continue;
    }
    const args = [CLI, '--json', '--seconds', String(seconds), '--rounds', String(rounds), ...servers];
    const out = execFileSync(join(bin, 'node'), args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    const { version, rounds: measured } = JSON.parse(out);
    byNode.push([version, measured]);
  }
  return byNode;
}
