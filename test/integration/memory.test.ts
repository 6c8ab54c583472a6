// Memory through real sockets: the young generation V8 gives a worker after the same
// load. A request path that keeps garbage alive through scavenges (bench/NOTES.md,
// "Session 9") made V8 grow it 4-16 times over, and the worker's RSS with it. V8 sizes
// it in doublings; loading tsx, esbuild and the app survives enough scavenges for one
// over a bare node:http server (8 MB against 4 on Node 20 and 24).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { fixture, killAll, startServer } from '../helpers/server.js';

after(killAll);

const REQUESTS = 20_000;
const CONNECTIONS = 50;
const MB = 1024 * 1024;

/** GET / REQUESTS times over CONNECTIONS connections, then reads the young generation's size. */
async function youngGenerationAfterLoad(origin: string): Promise<number> {
  const pool = new Pool(origin, { connections: CONNECTIONS });
  try {
    let sent = 0;
    const lane = async () => {
      while (sent < REQUESTS) {
        sent++;
        const res = await pool.request({ path: '/', method: 'GET' });
        assert.equal(await res.body.text(), 'Hello world!');
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, lane));
    const res = await pool.request({ path: '/young-generation', method: 'GET' });
    return ((await res.body.json()) as { bytes: number }).bytes;
  } finally {
    await pool.close();
  }
}

/** Resolves with the bare reference server's origin once it prints that it listens. */
function bareOrigin(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    });
    child.once('exit', (code) => reject(new Error(`the bare server exited (${code}) before listening`)));
  });
}

async function workerAfterLoad(args: string[]): Promise<number> {
  const server = await startServer([...args, '--processes', '1']);
  return youngGenerationAfterLoad(server.url.replace(/\/$/, ''));
}

async function bareAfterLoad(): Promise<number> {
  const child = spawn(process.execPath, [fixture('bare-young-generation.mjs')], {
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Killed by pid whatever happens, also if it never gets to listen.
  try {
    return await youngGenerationAfterLoad(await bareOrigin(child));
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {} // it exited already: bareOrigin has said why
  }
}

const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

describe("a busy worker's young generation", { timeout: 120_000 }, () => {
  // The middle of both comparisons: the same server and start-up, a node (req, res) handler.
  let node = 0;
  before(async () => {
    node = await workerAfterLoad([fixture('young-generation-node.mjs'), '--interface', 'node']);
  });

  it('the TSGI response path grows it at most one doubling beyond a node (req, res) handler', async (t) => {
    const tsgi = await workerAfterLoad([fixture('young-generation.ts')]);
    const sizes = `TSGI worker ${mb(tsgi)}, node-interface worker ${mb(node)}`;
    t.diagnostic(sizes);
    assert.ok(tsgi <= 2 * node, sizes);
  });

  it('the server grows it at most two doublings beyond a bare node:http server (start-up takes one)', async (t) => {
    const bare = await bareAfterLoad();
    const sizes = `node-interface worker ${mb(node)}, bare node:http ${mb(bare)}`;
    t.diagnostic(sizes);
    assert.ok(node <= 4 * bare, sizes);
  });
});
