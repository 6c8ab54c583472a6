// node bench/cpu-variants.mjs [--close] [--path P] [--seconds S] [--rounds N] -- 'label=flags' ...
// CPU per request (the server's whole process group, /proc) of tsgi-express started with
// each set of extra flags, interleaved round by round, beside the bare cluster
// (`bare` as a label: ACCEPT=shared, `bare-rr`: round-robin). Steadier than req/s when
// other processes share the machine: for telling which option or feature costs what.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serverCpu } from './lib/cpu.mjs';
import { runLoad } from './lib/load.mjs';
import { freePort } from './lib/port.mjs';
import { killAll, startServer } from './lib/proc.mjs';
import { PROCESSES, ROOT } from './lib/servers.mjs';
import { median } from './lib/stats.mjs';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    close: { type: 'boolean', default: false },
    upload: { type: 'boolean', default: false },
    path: { type: 'string', default: '/' },
    seconds: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string' },
    app: { type: 'string', default: 'bench/apps/hello.ts' },
  },
});
const tmp = mkdtempSync(join(os.tmpdir(), 'tsgi-variants-'));
const variants = positionals.map((p) => {
  const at = p.indexOf('=');
  return at < 0 ? { label: p, flags: [] } : { label: p.slice(0, at), flags: p.slice(at + 1).split(' ').filter(Boolean) };
});

function command(v, port) {
  if (v.label === 'bare' || v.label === 'bare-rr') {
    return { cmd: process.execPath, args: ['bench/servers/bare-cluster.mjs'], env: { PORT: String(port), HOST: '127.0.0.1', PROCESSES: String(PROCESSES), ACCEPT: v.label === 'bare' ? 'shared' : 'rr' } };
  }
  return { cmd: process.execPath, args: ['bin/tsgi-express', 'start-server', opts.app, '--host', '127.0.0.1', '--port', String(port), '--processes', String(PROCESSES), ...v.flags] };
}

const results = new Map(variants.map((v) => [v.label, []]));
try {
  for (let round = 1; round <= Number(opts.rounds); round++) {
    for (const v of variants) {
      const port = await freePort();
      const { cmd, args, env } = command(v, port);
      const server = await startServer({ cmd, args, env, cwd: ROOT, logFile: join(tmp, `${v.label}.log`) });
      try {
        const load = { url: `http://127.0.0.1:${port}${opts.path}`, connections: Number(opts.connections ?? (opts.upload ? 8 : opts.close ? 16 : 50)), close: opts.close, upload: opts.upload };
        await runLoad({ ...load, seconds: 2 });
        const cpu = serverCpu(server.pid);
        const r = await runLoad({ ...load, seconds: Number(opts.seconds) });
        const us = cpu() / r.requests;
        results.get(v.label).push({ us, rps: r.rps });
        process.stderr.write(`round ${round} ${v.label.padEnd(20)} ${Math.round(r.rps).toString().padStart(6)} req/s  ${us.toFixed(1)} us/req  errors ${r.errors}\n`);
      } finally {
        await server.stop();
      }
    }
  }
  for (const [label, runs] of results) {
    console.log(`${label.padEnd(20)} CPU ${median(runs.map((r) => r.us)).toFixed(1)} us/req (${runs.map((r) => r.us.toFixed(0)).join(', ')}), ${Math.round(median(runs.map((r) => r.rps)))} req/s`);
  }
} finally {
  killAll();
  rmSync(tmp, { recursive: true, force: true });
}
