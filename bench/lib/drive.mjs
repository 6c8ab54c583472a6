// A fixed count of requests over a few kept-alive connections, for the per-request
// tools (instructions.mjs, per-request.mjs), and the processes of a server's group.
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';

/**
 * n requests over `lanes` kept-alive connections; resolves when all are answered
 * with 200. A GET of `path`, or with `upload` (a Buffer) a POST of it; `https`: over
 * TLS, any certificate (the bench's own).
 */
export async function drive(port, n, { path = '/', upload, lanes = 4, https: tls = false } = {}) {
  const client = tls ? https : http;
  const agent = new client.Agent({ keepAlive: true, maxSockets: lanes, rejectUnauthorized: false });
  let next = 0;
  const one = () => new Promise((resolve, reject) => {
    const req = client.request({ host: '127.0.0.1', port, path, agent, method: upload ? 'POST' : 'GET' }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
      res.resume().on('end', resolve);
    }).on('error', reject);
    if (upload) req.setHeader('Content-Length', upload.length);
    req.end(upload);
  });
  const lane = async () => { while (next++ < n) await one(); };
  await Promise.all(Array.from({ length: lanes }, lane));
  agent.destroy();
}

/** The pids of a process group (a server started by bench/lib/proc.mjs leads its own). */
export function groupPids(pgid) {
  const out = execFileSync('pgrep', ['-g', String(pgid)], { encoding: 'utf8' });
  return out.split('\n').map((s) => Number(s.trim())).filter(Boolean);
}
