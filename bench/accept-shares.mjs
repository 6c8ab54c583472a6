// node bench/accept-shares.mjs [--rounds N] [--seconds S] [--connections C]
//
// Who accepts a new connection, and how evenly: the no-keepalive load (a new
// connection per request, wrk -H 'Connection: close') against the bare cluster's
// three accept policies (bench/servers/cluster.mjs: round-robin, one shared
// socket, a SO_REUSEPORT socket per worker where Node has it) and tsgi-express,
// servers interleaved round by round. Prints each one's req/s, CPU per request
// and each worker's share of the connections (bare: what each worker counted;
// tsgi-express: the requests per worker from /server-status?json). Not part of
// `npm run bench` (whose no-keepalive scenario has the same servers but no shares).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serverCpu } from './lib/cpu.mjs';
import { runLoad } from './lib/load.mjs';
import { freePort } from './lib/port.mjs';
import { runScript, startServer } from './lib/proc.mjs';
import { hasReusePort, PROCESSES, ROOT, SERVERS } from './lib/servers.mjs';
import { median, shares as pct } from './lib/stats.mjs';

const { values: opts } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '5' }, connections: { type: 'string', default: '16' } },
});
const ROUNDS = Number(opts.rounds);
const SECONDS = Number(opts.seconds);
const CONNECTIONS = Number(opts.connections);
const NAMES = ['bare-cluster', 'bare-shared', ...(hasReusePort() ? ['bare-reuseport'] : []), 'tsgi'];
const tmp = mkdtempSync(join(os.tmpdir(), 'tsgi-accept-'));

/** The server's command, with --server-status for tsgi-express (its per-worker counts). */
function command(name, port) {
  const spec = SERVERS[name].command(port);
  return name === 'tsgi' ? { ...spec, args: [...spec.args, '--server-status'] } : spec;
}

async function tsgiShares(port) {
  const res = await fetch(`http://127.0.0.1:${port}/server-status?json`);
  const status = await res.json();
  return status.workers.map((w) => w.requests);
}

function bareShares(log) {
  return [...log.matchAll(/served (\d+) connections/g)].map((m) => Number(m[1]));
}

async function run(name, round) {
  const port = await freePort();
  const { cmd, args, env } = command(name, port);
  const server = await startServer({ cmd, args, env, cwd: ROOT, logFile: join(tmp, `${name}-${round}.log`) });
  const load = { url: `http://127.0.0.1:${port}/`, connections: CONNECTIONS, close: true };
  try {
    await runLoad({ ...load, seconds: 2 });
    const cpu = serverCpu(server.pid);
    const r = await runLoad({ ...load, seconds: SECONDS });
    const cpuUs = cpu() / r.requests;
    const shares = name === 'tsgi' ? await tsgiShares(port) : undefined;
    await server.stop();
    return { rps: r.rps, errors: r.errors, cpuUs, shares: shares ?? bareShares(server.log()) };
  } finally {
    await server.stop();
  }
}

async function main() {
  const results = Object.fromEntries(NAMES.map((n) => [n, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const name of NAMES) {
      const r = await run(name, round);
      results[name].push(r);
      process.stderr.write(`round ${round} ${name.padEnd(15)} ${Math.round(r.rps).toString().padStart(6)} req/s  CPU ${r.cpuUs.toFixed(1)} us/req  errors ${r.errors}  shares ${pct(r.shares)}\n`);
    }
  }
  const ref = median(results['bare-cluster'].map((r) => r.rps));
  const lines = [
    `Node ${process.version}, ${PROCESSES} workers, wrk -c${CONNECTIONS} 'Connection: close', ${ROUNDS} round(s) of ${SECONDS} s`,
    '',
    '| server | req/s (median) | x round-robin | CPU us/req | worker shares, round by round |',
    '| --- | ---: | ---: | ---: | --- |',
    ...NAMES.map((n) => {
      const rps = median(results[n].map((r) => r.rps));
      const cpu = median(results[n].map((r) => r.cpuUs));
      return `| ${n} | ${Math.round(rps)} | ${(rps / ref).toFixed(2)} | ${cpu.toFixed(1)} | ${results[n].map((r) => pct(r.shares)).join('; ')} |`;
    }),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

runScript(main, () => rmSync(tmp, { recursive: true, force: true }));
