// --port 0 with two workers: the master picks the port before forking and the
// workers listen on it a second or more later. A client whose local port the
// kernel happens to draw from the same ephemeral range in between used to take it
// (the workers then failed with EADDRINUSE: seen in the CI matrix, where four Node
// lines run tests at once). The master now keeps the port bound until it exits.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { killAll, startServer } from '../helpers/server.js';

// Loading takes long enough for the test to try the port before any worker listens.
const SLOW_APP = `
await new Promise((resolve) => setTimeout(resolve, 2500));
export function application(environ: Record<string, unknown>, startResponse: (s: string, h: [string, string][]) => unknown) {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return ['served'];
}
`;

let dir = '';
let holder: http.Server;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tsgi-ports-'));
  await writeFile(path.join(dir, 'slow.ts'), SLOW_APP);
  // Answers late, so a client connected to it keeps its local port while the server starts.
  holder = http.createServer((_req, res) => setTimeout(() => res.end('late'), 5000).unref());
  holder.listen(0, '127.0.0.1');
  await once(holder, 'listening');
});
after(async () => {
  killAll();
  holder.closeAllConnections();
  holder.close();
  await rm(dir, { recursive: true, force: true });
});

/** The port in the server root the master creates under TMPDIR before it forks. */
async function portFromServerRoot(root: string, ms = 15_000): Promise<number> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const name of readdirSync(root)) {
      const m = /^tsgi-express-127\.0\.0\.1:(\d+):/.exec(name);
      if (m) return Number(m[1]);
    }
    await sleep(10);
  }
  throw new Error(`no server root appeared in ${root} within ${ms} ms`);
}

/** curl from local port `localPort` to the holder: its exit code and message. */
async function curlFrom(localPort: number): Promise<{ code: number | null; stderr: string }> {
  const { port } = holder.address() as AddressInfo;
  const child = spawn('curl', ['-sS', '--max-time', '8', '--local-port', String(localPort), `http://127.0.0.1:${port}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const [code] = await once(child, 'exit');
  return { code: code as number | null, stderr };
}

describe('--port 0 with two workers', { timeout: 60_000 }, () => {
  it('the picked port cannot be taken by a client before the workers listen on it', async () => {
    const root = path.join(dir, 'roots');
    await mkdir(root);
    const starting = startServer([path.join(dir, 'slow.ts'), '--processes', '2'], { env: { TMPDIR: root }, readyTimeoutMs: 30_000 });
    starting.catch(() => {}); // awaited below; a failure is reported there
    const port = await portFromServerRoot(root);
    const curl = curlFrom(port);
    const server = await starting;
    assert.equal(server.port, port);
    const res = await request(server.url);
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'served');
    // curl could not bind the reserved port (exit 45: "interface error"), so it never held it.
    const { code, stderr } = await curl;
    assert.equal(code, 45, `curl took the server's port: exit ${code} ${stderr}`);
  });
});
