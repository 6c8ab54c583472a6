// node bench/auth-bcrypt.mjs [--seconds N] [--cost C ...]
// Requests per second through --auth-user-file with one bcrypt entry (htpasswd -B,
// each cost given; htpasswd's default is 5), --processes 2, hello app:
//   - miss: a wrong password every request: every request runs bcrypt (failures are
//     never cached), the worst case and what a password-guessing client costs;
//   - hit: the right password: the verified-credentials cache answers (what a
//     browser, which sends the same credentials with every request, costs).
// Not part of `npm run bench` (the main run has the cached case as scenario `auth`).
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runLoad } from './lib/load.mjs';
import { freePort } from './lib/port.mjs';
import { startServer } from './lib/proc.mjs';
import { ROOT } from './lib/servers.mjs';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, cost: { type: 'string', multiple: true, default: ['5', '10'] } } });
const seconds = Number(values.seconds);
const tmp = mkdtempSync(join(os.tmpdir(), 'tsgi-bench-bcrypt-'));
const basic = (pw) => 'Authorization: Basic ' + Buffer.from(`bench:${pw}`).toString('base64');

for (const cost of values.cost) {
  const file = join(tmp, `htpasswd-${cost}`);
  execFileSync('htpasswd', ['-cbB', '-C', cost, file, 'bench', 'bench'], { stdio: 'ignore' });
  const port = await freePort();
  const args = [join(ROOT, 'bin/tsgi-express'), 'start-server', 'bench/apps/hello.ts', '--host', '127.0.0.1', '--port', String(port), '--processes', '2', '--auth-user-file', file];
  const server = await startServer({ cmd: process.execPath, args, cwd: ROOT, logFile: join(tmp, `server-${cost}.log`) });
  try {
    const url = `http://127.0.0.1:${port}/`;
    // Hits first: bcrypt work queued for the misses' requests goes on after wrk has closed
    // their connections, and would slow whatever runs next.
    for (const [name, pw] of [['hit (cached)', 'bench'], ['miss (bcrypt each request)', 'wrong']]) {
      await runLoad({ url, seconds: 2, connections: 16, headers: [basic(pw)] });
      const r = await runLoad({ url, seconds, connections: 16, headers: [basic(pw)] });
      console.log(`cost ${cost.padStart(2)}  ${name.padEnd(27)} ${r.rps.toFixed(1).padStart(8)} req/s  p99 ${r.p99Ms.toFixed(1)} ms  (${r.requests} requests)`);
    }
  } finally {
    await server.stop();
  }
}
