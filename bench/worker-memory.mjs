// node bench/worker-memory.mjs [--node 20,24] [--seconds 5] [--rounds 1] [server|'name=--flag value' ...]
// A worker's RSS at Ready and its peak (VmHWM) under wrk -c50, one worker per server,
// on each Node line named (20: this node; 22, 24, 26: the binary `.ci/node-version.sh N`
// fetches), against a bare node:http worker on the same binary (bench/lib/worker-memory.mjs).
// Servers default to bare-cluster, bare-tsx and tsgi; 'name=ARGS' adds tsgi-express's
// hello with ARGS (e.g. 'no-watchdog=--deadlock-timeout 0'). Needs `npm run build`.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    node: { type: 'string' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});
const names = positionals.length ? positionals : ['bare-cluster', 'bare-tsx', 'tsgi'];

/** Measures `names` on this node; one object per round. */
async function measureHere() {
  process.env.BENCH_PROCESSES = '1';
  const { measureWorkerMemory } = await import('./lib/worker-memory.mjs');
  const { SERVERS } = await import('./lib/servers.mjs');
  const plain = [];
  for (const n of names) {
    const eq = n.indexOf('=');
    if (eq < 0) {
      plain.push(n);
      continue;
    }
    const name = n.slice(0, eq);
    const extra = n.slice(eq + 1).split(' ').filter(Boolean);
    const base = SERVERS.tsgi.command;
    SERVERS[name] = { label: `tsgi-express, TSGI app, ${extra.join(' ')}`, command: (port) => { const c = base(port); return { ...c, args: [...c.args, ...extra] }; } };
    plain.push(name);
  }
  const tmp = mkdtempSync(join(os.tmpdir(), 'tsgi-memory-'));
  try {
    const rounds = [];
    for (let i = 0; i < Number(opts.rounds); i++) {
      rounds.push(await measureWorkerMemory(plain, { seconds: Number(opts.seconds), tmp, log: (t) => process.stderr.write(t + '\n') }));
    }
    return rounds;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (opts.json) {
  process.stdout.write(JSON.stringify({ version: process.version, rounds: await measureHere() }));
} else {
  const { measureNodeLines } = await import('./lib/worker-memory.mjs');
  const { memoryTable } = await import('./lib/worker-memory-report.mjs');
  const majors = (opts.node ?? process.versions.node.split('.')[0]).split(',');
  const byNode = measureNodeLines(majors, { servers: names, seconds: opts.seconds, rounds: opts.rounds, log: (t) => process.stderr.write(t + '\n') });
  process.stdout.write(memoryTable(byNode) + '\n');
}
