// node bench/worker-memory.mjs [--node 20,24] [--seconds 5] [--rounds 1] [server|'name=--flag value' ...]
// A worker's RSS at Ready and its peak (VmHWM) under wrk -c50, one worker per server,
// on each Node line named (20: this node; 22, 24, 26: the binary `.ci/node-version.sh N`
// fetches), against a bare node:http worker on the same binary (bench/lib/worker-memory.mjs).
// Servers default to bare-cluster, bare-tsx and tsgi; 'name=ARGS' adds tsgi-express's
// hello with ARGS (e.g. 'no-watchdog=--deadlock-timeout 0'). Needs `npm run build`.
import { execFileSync } from 'node:child_process';
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
const MB = 1024;

/** The bin directory of Node `major`: this node's for its own major, else the pinned one. */
export function nodeBin(major) {
  if (String(major) === process.versions.node.split('.')[0]) return join(process.execPath, '..');
  return execFileSync(new URL('../.ci/node-version.sh', import.meta.url).pathname, [String(major)], { encoding: 'utf8' }).trim();
}

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

const mb = (kb) => (kb / MB).toFixed(1);
const over = (kb, base) => `${kb >= base ? '+' : ''}${((kb - base) / MB).toFixed(1)}`;

function table(byNode) {
  const lines = [
    '| Node | server | ready MB | peak MB | ready over bare | peak over bare | worker threads |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const [version, rounds] of byNode) {
    for (const round of rounds) {
      const bare = round['bare-cluster'];
      for (const [name, r] of Object.entries(round)) {
        const vs = bare && name !== 'bare-cluster';
        lines.push(`| ${version} | ${name} | ${mb(r.readyKb)} | ${mb(r.peakKb)} | ${vs ? over(r.readyKb, bare.readyKb) : ''} | ${vs ? over(r.peakKb, bare.peakKb) : ''} | ${r.threads} |`);
      }
    }
  }
  return lines.join('\n');
}

if (opts.json) {
  process.stdout.write(JSON.stringify({ version: process.version, rounds: await measureHere() }));
} else {
  const byNode = [];
  for (const major of (opts.node ?? process.versions.node.split('.')[0]).split(',')) {
    const bin = nodeBin(major);
    const args = [new URL(import.meta.url).pathname, '--json', '--seconds', opts.seconds, '--rounds', opts.rounds, ...names];
    const out = execFileSync(join(bin, 'node'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    const { version, rounds } = JSON.parse(out);
    byNode.push([version, rounds]);
  }
  process.stdout.write(table(byNode) + '\n');
}
