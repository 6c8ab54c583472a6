// node bench/profile.mjs [app] [--seconds N] [--close] [-- extra tsgi-express flags]
// (--close: a new connection per request, 16 at a time, as the no-keepalive scenario)
// Profiles tsgi-express workers under load: the master forks workers with its own
// execArgv (minus --inspect), so `node --cpu-prof` on the CLI reaches every worker.
// Stops the master with SIGTERM so workers drain and exit normally (a profile is
// written at exit only), then prints the workers' hottest functions by self time.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runLoad } from './lib/load.mjs';
import { freePort } from './lib/port.mjs';
import { startServer } from './lib/proc.mjs';
import { ROOT } from './lib/servers.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { close: { type: 'boolean', default: false }, seconds: { type: 'string', default: '8' }, top: { type: 'string', default: '30' }, path: { type: 'string', default: '/' } },
});
const app = positionals[0] ?? 'bench/apps/hello.ts';
const extra = positionals.slice(1);
const dir = mkdtempSync(join(os.tmpdir(), 'tsgi-prof-'));
const port = await freePort();

const server = await startServer({
  cmd: process.execPath,
  args: ['--cpu-prof', '--cpu-prof-dir', dir, 'bin/tsgi-express', 'start-server', app, '--host', '127.0.0.1', '--port', String(port), '--processes', '2', ...extra],
  cwd: ROOT,
  logFile: join(dir, 'server.log'),
});
const load = { url: `http://127.0.0.1:${port}${values.path}`, connections: values.close ? 16 : 50, close: values.close };
await runLoad({ ...load, seconds: 3 }); // warm-up, profiled too; dwarfed by the run
const r = await runLoad({ ...load, seconds: Number(values.seconds) });
console.log(`${Math.round(r.rps)} req/s under the profiler (profiling slows everything)`);
process.kill(server.pid, 'SIGTERM'); // the master only: it drains the workers
await new Promise((res) => server.child.once('exit', res));
await new Promise((res) => setTimeout(res, 500));

const self = new Map();
let total = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  // Worker profiles only: the master never runs the request pipeline.
  if (!prof.nodes.some((n) => n.callFrame.url.endsWith('/worker/server.js'))) continue;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const dt = new Map();
  prof.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
  for (const [id, us] of dt) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    if (functionName === '(idle)') continue; // waiting for the CPU or the network: not our cost
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|dist|src)\//, '$1/').replace('file://', '')}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
  }
}
console.log(`worker profiles in ${dir}; share of busy time by function (self):`);
for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
  console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${key}`);
}
