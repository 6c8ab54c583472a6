// The distributed case (issue 21): two tsgi-express instances behind nginx
// (Debian's, started here on loopback with the nginx block of docs/deploying.md as
// written, only its addresses changed to this test's ports),
// under continuous load; each instance is stopped with SIGTERM and started
// again in turn, then reloaded with SIGHUP: nginx answers every request 200.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { fixture, killAll, ROOT, startServer, type RunningServer } from '../helpers/server.js';

const APP = fixture('supervised-app.ts');
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => spawnSync(p, ['-v']).status === 0);
let dir = '';
let nginx: ChildProcess | undefined;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tsgi-nginx-'));
  await chmod(dir, 0o755); // nginx's workers run as its unprivileged user when started as root
});
after(async () => {
  if (nginx?.pid) {
    try {
      process.kill(-nginx.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  killAll();
  await rm(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The nginx block of docs/deploying.md ("Behind nginx, with several instances"), as the page writes it. */
function pageNginxBlock(): string {
  const doc = readFileSync(path.join(ROOT, 'docs/deploying.md'), 'utf8');
  const block = /## Behind nginx, with several instances[^]*?```nginx\n([^]*?)```/.exec(doc)?.[1];
  assert.ok(block, 'no nginx block under "## Behind nginx, with several instances" in docs/deploying.md');
  return block;
}

/**
 * The page's block with only its addresses changed: each upstream `server HOST:PORT`
 * becomes one of this test's instances, `listen 80` a free loopback port. Every
 * directive the page gives (max_fails, fail_timeout, keepalive, proxy_next_upstream ...)
 * is used as written.
 */
function pageBlockOn(block: string, upstreams: number[], front: number): string {
  let i = 0;
  const conf = block
    .replace(/^(\s*server )[^\s{]+:\d+( [^;\n]*)?;$/gm, (_, head: string, rest = '') => `${head}127.0.0.1:${upstreams[i++]}${rest};`)
    .replace(/^(\s*listen )80;$/m, `$1127.0.0.1:${front};`);
  assert.equal(i, upstreams.length, `the page's upstream has ${i} servers; the test runs ${upstreams.length}`);
  assert.ok(conf.includes(`listen 127.0.0.1:${front};`), 'the page\'s block has no "listen 80;"');
  return conf;
}

/**
 * nginx with the page's block inside the main and http contexts any nginx.conf has
 * (here: files under the test's directory, not running as a daemon).
 */
async function startNginx(port: number, upstreams: number[]): Promise<void> {
  const conf = path.join(dir, 'nginx.conf');
  await writeFile(conf, `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 512; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
${pageBlockOn(pageNginxBlock(), upstreams, port)}
}
`);
  nginx = spawn(NGINX!, ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  nginx.stderr!.on('data', (d) => (stderr += d));
  const end = Date.now() + 15_000;
  for (;;) {
    const ok = await request(`http://127.0.0.1:${port}/`, { reset: true }).then((r) => r.body.text().then(() => r.statusCode === 200), () => false);
    if (ok) return;
    if (nginx.exitCode !== null || Date.now() > end) throw new Error(`nginx did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Clients sending GETs through nginx until stopped, counting every answer that is not a 200. */
function load(url: string, clients: number) {
  const agent = new Agent({ connections: clients, keepAliveTimeout: 4000 });
  const pids = new Map<number, number>();
  const failures: string[] = [];
  let sent = 0;
  let running = true;
  const client = async () => {
    while (running) {
      sent++;
      try {
        const res = await request(url, { dispatcher: agent, headersTimeout: 30_000, bodyTimeout: 30_000 });
        const body = await res.body.text();
        if (res.statusCode !== 200) failures.push(`${res.statusCode}: ${body.slice(0, 200)}`);
        else {
          const pid = Number(body.replace('hello ', ''));
          pids.set(pid, (pids.get(pid) ?? 0) + 1);
        }
      } catch (err) {
        failures.push(String(err));
      }
    }
  };
  const done = Promise.all(Array.from({ length: clients }, client));
  return {
    pids,
    failures,
    get sent() {
      return sent;
    },
    stop: async () => {
      running = false;
      await done;
      await agent.close();
    },
  };
}

/** Waits until one of `server`'s workers has answered through nginx. */
async function servedBy(server: RunningServer, pids: Map<number, number>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  const mine = () => workerPids(server);
  while (![...pids.keys()].some((p) => mine().has(p))) {
    if (Date.now() > end) throw new Error(`no request reached instance ${server.pid} through nginx`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The worker pids a server's master has now (its children). */
function workerPids(server: RunningServer): Set<number> {
  const children = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/PID/stat: pid (comm) state ppid ...; comm may hold spaces, so read after its last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === server.pid) children.add(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return children;
}

describe('two instances behind nginx', { timeout: 300_000, skip: NGINX ? false : 'no nginx (.ci/run installs it)' }, () => {
  it('each restarted in turn (SIGTERM, start again), then reloaded (SIGHUP), under load: zero failed requests', async () => {
    const [portA, portB, front] = [await freePort(), await freePort(), await freePort()];
    const args = [APP, '--processes', '2', '--drain-delay', '1', '--health-check-path', '/healthz'];
    let a = await startServer(args, { port: portA });
    let b = await startServer(args, { port: portB });
    await startNginx(front, [portA, portB]);
    const traffic = load(`http://127.0.0.1:${front}/`, 4);
    try {
      await servedBy(a, traffic.pids);
      await servedBy(b, traffic.pids);
      for (const which of ['a', 'b'] as const) {
        const old = which === 'a' ? a : b;
        old.signal('SIGTERM');
        assert.equal((await old.exited()).code, 0, old.output());
        const again = await startServer(args, { port: which === 'a' ? portA : portB });
        if (which === 'a') a = again;
        else b = again;
        await servedBy(again, traffic.pids);
      }
      for (const server of [a, b]) {
        const from = server.output().length;
        server.signal('SIGHUP');
        await server.waitFor(/Reload complete/, 60_000, from);
        await servedBy(server, traffic.pids);
      }
    } finally {
      await traffic.stop();
    }
    assert.deepEqual(traffic.failures, [], `${traffic.failures.length} of ${traffic.sent} failed`);
    assert.ok(traffic.sent > 200, `only ${traffic.sent} requests sent`);
  });
});
