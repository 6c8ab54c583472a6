// Start-up and reload latency, measured from outside as a user sees them:
// start-up from spawning the command to the first 200; reload from the saved
// change to the first response carrying the new body. Polled with a tight loop
// of fresh connections (a kept-alive one could stay on an old worker).
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, stopGroup } from './proc.mjs';
import { PROCESSES, ROOT } from './servers.mjs';

const POLL_GAP_MS = 2;

export function get(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
  });
}

export async function pollUntil(port, ok, timeoutMs) {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    const r = await get(port);
    if (ok(r)) return performance.now();
    await new Promise((res) => setTimeout(res, POLL_GAP_MS));
  }
  throw new Error(`no matching response within ${timeoutMs} ms`);
}

function command(script, port) {
  return {
    cmd: process.execPath,
    args: ['bin/tsgi-express', 'start-server', script, '--host', '127.0.0.1', '--port', String(port), '--processes', String(PROCESSES)],
    cwd: ROOT,
  };
}

/** Milliseconds from spawn to the first 200 of examples/hello.ts. */
export async function measureStartup(port, logFile) {
  const t0 = performance.now();
  const server = startServer({ ...command('examples/hello.ts', port), logFile, ready: () => true });
  const handle = await server;
  try {
    const t1 = await pollUntil(port, (r) => r.status === 200, 20_000);
    return t1 - t0;
  } finally {
    await stopGroup(handle.child);
  }
}

/** Milliseconds from rewriting the entry script to the first response with the new body. */
export async function measureReload(port, logFile, tries) {
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-bench-reload-'));
  const script = join(dir, 'hello.ts');
  copyFileSync(join(ROOT, 'examples/hello.ts'), script);
  const original = readFileSync(script, 'utf8');
  const handle = await startServer({ ...command(script, port), logFile });
  const times = [];
  try {
    await pollUntil(port, (r) => r.status === 200, 10_000);
    for (let i = 1; i <= tries; i++) {
      // A body no earlier run saved: tsx's transform cache (on disk, kept across runs) must not
      // have it, as after a real edit.
      const text = `Hello reload ${process.pid}-${Date.now()} ${i}!`;
      // Let the watcher settle after the previous reload before the next save.
      await new Promise((res) => setTimeout(res, 500));
      const t0 = performance.now();
      writeFileSync(script, original.replace('Hello world!', text));
      const t1 = await pollUntil(port, (r) => r.status === 200 && r.body === text, 10_000);
      times.push(t1 - t0);
    }
  } finally {
    await stopGroup(handle.child);
    rmSync(dir, { recursive: true, force: true });
  }
  return times;
}
