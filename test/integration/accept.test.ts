// Who accepts connections with two or more workers: every worker, from the one
// listening socket the master owns and lends (src/master/listening-socket.ts),
// instead of node:cluster's round-robin master accepting and handing each over.
// Proved here through the real CLI: one socket for the master and every worker
// of every generation; connections spread over both workers under a
// connection-per-request load; zero failed requests across reloads under that
// load; and connections queued while no worker accepts survive a whole
// generation leaving (what a per-worker SO_REUSEPORT socket would reset).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { Load } from '../helpers/load.js';
import { childrenRunning, killAll, startServer, type RunningServer } from '../helpers/server.js';

const tempDirs: string[] = [];
after(async () => {
  killAll();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Answers `VERSION PID`: which generation, and which worker, served the request. */
const appSource = (version: string) => `
export const application = (environ: unknown, startResponse: (s: string, h: [string, string][]) => void) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return ['${version} ' + process.pid];
};
`;

async function appFile(version: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tsgi-accept-'));
  tempDirs.push(dir);
  const file = path.join(dir, 'app.ts');
  await writeFile(file, appSource(version));
  return file;
}

/** The inodes of the sockets listening on `port` (Linux /proc/net). */
function listeningInodes(port: number): Set<string> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/); // local_address is f[1], st f[3], inode f[9]
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A') inodes.add(f[9]!);
    }
  }
  return inodes;
}

/** The socket inodes process `pid` holds. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: 'utf8' }));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

const workers = (server: RunningServer) => childrenRunning(server.pid, 'worker/main.js');

/** `count` requests, `concurrency` at a time, each on a new connection; resolves with the bodies. */
async function connectionPerRequest(url: string, count: number, concurrency: number): Promise<string[]> {
  const dispatcher = new Agent({ connections: concurrency, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const bodies: string[] = [];
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          next++;
          const res = await request(url, { dispatcher, reset: true });
          assert.equal(res.statusCode, 200);
          bodies.push(await res.body.text());
        }
      }),
    );
  } finally {
    await dispatcher.close();
  }
  return bodies;
}

describe('--processes 2: the workers accept from one socket the master owns', { timeout: 180_000 }, () => {
  it('one listening socket, held by the master and every worker, the same one after a reload', async () => {
    const server = await startServer([await appFile('v1'), '--processes', '2']);
    const listening = listeningInodes(server.port);
    assert.equal(listening.size, 1, 'one listening socket on the port');
    const [inode] = listening;
    assert.ok(socketInodes(server.pid).has(inode!), 'the master holds it');
    const first = workers(server);
    assert.equal(first.length, 2);
    for (const pid of first) assert.ok(socketInodes(pid).has(inode!), `worker ${pid} holds it`);
    const from = server.output().length;
    server.signal('SIGHUP');
    await server.waitFor(/Reload complete/, 30_000, from);
    const second = workers(server).filter((pid) => !first.includes(pid));
    assert.equal(second.length, 2);
    for (const pid of second) assert.ok(socketInodes(pid).has(inode!), `new worker ${pid} holds it`);
    assert.deepEqual([...listeningInodes(server.port)], [inode]);
  });

  it('spreads a connection-per-request load over both workers', async () => {
    const server = await startServer([await appFile('v1'), '--processes', '2']);
    const bodies = await connectionPerRequest(server.url, 600, 8);
    const served = new Map<string, number>();
    for (const body of bodies) served.set(body, (served.get(body) ?? 0) + 1);
    const shares = [...served.values()];
    // Which worker accepts is the kernel's and the scheduler's choice, not a strict
    // alternation: what must not happen is one worker serving (almost) everything.
    assert.equal(shares.length, 2, `served by ${[...served.keys()].join(', ')}`);
    for (const n of shares) assert.ok(n >= 600 * 0.1, `a worker served only ${n} of 600: ${JSON.stringify([...served])}`);
  });

  it('three reloads in a row under a connection-per-request load: zero failed requests', async () => {
    const server = await startServer([await appFile('v1'), '--processes', '2']);
    const fresh = new Load(server.url, { loops: 8, keepAlive: false, maxMs: 60_000, hangMs: 10_000 });
    for (let i = 0; i < 3; i++) {
      const from = server.output().length;
      server.signal('SIGHUP');
      await server.waitFor(/Reload complete/, 30_000, from);
    }
    await sleep(500); // keep loading while the last old generation drains
    const result = await fresh.stop();
    assert.equal(result.failed, 0, `failures: ${result.errors.slice(0, 5).join('; ')}`);
    assert.ok(result.ok > 100, `too little load to prove anything: ${result.ok}`);
    // Served by at least three generations' workers (two each).
    assert.ok(result.bodies.size >= 6, `served by ${result.bodies.size} workers`);
  });

  it('connections queued while no worker accepts are served by the next generation, none reset', async () => {
    const file = await appFile('v1');
    const server = await startServer([file, '--processes', '2']);
    const old = workers(server);
    assert.equal(old.length, 2);
    // Stopped, the old workers accept nothing: the connections wait in the socket's backlog,
    // where a SO_REUSEPORT design would have queued them on the old workers' own sockets.
    for (const pid of old) process.kill(pid, 'SIGSTOP');
    try {
      const dispatcher = new Agent({ connections: 8, headersTimeout: 30_000, bodyTimeout: 30_000 });
      const queued = Array.from({ length: 8 }, () =>
        request(server.url, { dispatcher, reset: true }).then(async (r) => `${r.statusCode} ${await r.body.text()}`, (err: Error) => err.message),
      );
      await sleep(200);
      await writeFile(file, appSource('v2'));
      const from = server.output().length;
      server.signal('SIGHUP');
      // Answered while the old workers are still stopped: the new generation took them from the one socket.
      const answers = await Promise.all(queued);
      await dispatcher.close();
      for (const answer of answers) assert.match(answer, /^200 v2 \d+$/);
      await server.waitFor(/Reload complete/, 30_000, from);
    } finally {
      for (const pid of old) process.kill(pid, 'SIGCONT');
    }
    // The old generation drains and exits; the socket stays, and serves on.
    await server.waitFor(/Reload complete: 2 new worker\(s\) serving, 2 draining/);
    const deadline = Date.now() + 20_000;
    while (workers(server).some((pid) => old.includes(pid)) && Date.now() < deadline) await sleep(100);
    assert.deepEqual(workers(server).filter((pid) => old.includes(pid)), []);
    assert.match(await (await request(server.url, { reset: true })).body.text(), /^v2 \d+$/);
  });
});
