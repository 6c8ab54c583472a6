// The servers under test. Each is a command line for a port; `pair` names the bare
// server that serves the same app (for the fetch and Express comparisons).
// Every server runs PROCESSES processes (2 on the reference machine) except bare-single.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apacheBinary, apacheCommand } from './apache.mjs';
import { nginxBinary, nginxCommand } from './nginx.mjs';
import { staticDir } from './static-files.mjs';
import { benchCertificate } from './tls.mjs';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 2);
const NODE = process.execPath;
const CLI = 'bin/tsgi-express';

function which(cmd) {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const bare = (script, processes = PROCESSES, accept = 'rr') => (port) => ({
  cmd: NODE,
  args: [script],
  env: { PORT: String(port), HOST: '127.0.0.1', PROCESSES: String(processes), ACCEPT: accept },
});

/** net's `reusePort` (SO_REUSEPORT): Node >= 22.12 on the 22 line, >= 23.1 after it. */
export function hasReusePort(version = process.versions.node) {
  const [major, minor] = version.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/** A reverse proxy (PROXY=tsgi|nginx) in front of the bare cluster: bench/servers/proxy-front.mjs. */
const proxyFront = (proxy) => (port) => {
  const spec = bare('bench/servers/proxy-front.mjs')(port);
  return { ...spec, env: { ...spec.env, PROXY: proxy } };
};

const tsgi = (app, ...extra) => tsgiWith(CLI, app, ...extra);

/** The request limits and slow-client timeouts, all off (their defaults are on). */
const NO_LIMITS = [
  '--limit-request-body', '0', '--limit-request-line', '0', '--limit-request-fields', '0',
  '--limit-request-field-size', '0', '--header-timeout', '0', '--body-timeout', '0', '--socket-timeout', '0',
];
const tsgiWith = (cli, app, ...extra) => (port) => ({
  cmd: NODE,
  args: [cli, 'start-server', app, '--host', '127.0.0.1', '--port', String(port), '--processes', String(PROCESSES), ...extra],
});

/** A bare TLS server (node:https or node:http2 cluster) on `port`, with the bench certificate. */
const bareTls = (script) => (port) => {
  const { cert, key } = benchCertificate();
  return { ...bare(script)(port), env: { ...bare(script)(port).env, TLS_CERT: cert, TLS_KEY: key } };
};

/** tsgi-express serving HTTPS on `port` (the plain port is any free one), with the bench certificate. */
const tsgiTls = (app, ...extra) => (port) => {
  const { cert, key } = benchCertificate();
  return {
    cmd: NODE,
    args: [CLI, 'start-server', app, '--host', '127.0.0.1', '--port', '0', '--https-port', String(port),
      '--ssl-certificate-file', cert, '--ssl-certificate-key-file', key, '--processes', String(PROCESSES), ...extra],
  };
};

const gunicorn = which('gunicorn');

/** An htpasswd file with one bcrypt entry (htpasswd's default cost, 5) for user bench, password bench. */
function benchHtpasswd() {
  if (!which('htpasswd')) return undefined;
  const file = join(mkdtempSync(join(tmpdir(), 'tsgi-bench-auth-')), 'htpasswd');
  execFileSync('htpasswd', ['-cbB', file, 'bench', 'bench'], { stdio: 'ignore' });
  return file;
}
const htpasswdFile = benchHtpasswd();

// Log files of the tsgi-log-files server: one directory per run of it, all removed on exit.
const LOG_ROOT = join(tmpdir(), `tsgi-bench-logs-${process.pid}`);
process.on('exit', () => rmSync(LOG_ROOT, { recursive: true, force: true }));
const logFiles = (app) => (port) => tsgi(app, '--access-log', '--log-directory', join(LOG_ROOT, String(port)), '--rotate-logs')(port);

/** name -> { label, command(port), pair?, ready? } */
export const SERVERS = {
  'bare-cluster': { label: `bare node:http cluster (${PROCESSES} workers)`, command: bare('bench/servers/bare-cluster.mjs') },
  // Who accepts, the no-keepalive scenario's question (bench/servers/cluster.mjs, ACCEPT):
  // bare-cluster is node:cluster's round-robin, the primary accepting every connection.
  'bare-shared': { label: `bare node:http cluster (${PROCESSES} workers) accepting on one shared socket (cluster.SCHED_NONE)`, command: bare('bench/servers/bare-cluster.mjs', PROCESSES, 'shared') },
  'bare-tsx': { label: `bare node:http cluster with tsx's loader registered (${PROCESSES} workers)`, command: bare('bench/servers/tsx-cluster.mjs') },
  'bare-single': { label: 'bare node:http, 1 process', command: bare('bench/servers/bare-cluster.mjs', 0) },
  tsgi: { label: 'tsgi-express, TSGI app', command: tsgi('bench/apps/hello.ts') },
  'tsgi-access-log': { label: 'tsgi-express, TSGI app, --access-log', command: tsgi('bench/apps/hello.ts', '--access-log') },
  // A trusted proxy's forwarded client on every request (the `forwarded` scenario sends it).
  'tsgi-forwarded': {
    label: 'tsgi-express, TSGI app, --trust-proxy-header X-Forwarded-For --trust-proxy 127.0.0.1/32',
    command: tsgi('bench/apps/hello.ts', '--trust-proxy-header', 'X-Forwarded-For', '--trust-proxy', '127.0.0.1/32'),
  },
  // Issue 21's supervision options against the same server with nothing timed per request
  // (--request-timeout 0; recycling is off by default); tsgi-monitored adds --metrics-port.
  'tsgi-supervised': {
    label: 'tsgi-express, TSGI app, --maximum-requests 10000 --memory-limit 512 --request-timeout 60',
    command: tsgi('bench/apps/hello.ts', '--maximum-requests', '10000', '--memory-limit', '512', '--request-timeout', '60'),
  },
  'tsgi-monitored': {
    label: 'tsgi-express, TSGI app, --maximum-requests 10000 --memory-limit 512 --request-timeout 60 --metrics-port (a free one)',
    command: tsgi('bench/apps/hello.ts', '--maximum-requests', '10000', '--memory-limit', '512', '--request-timeout', '60', '--metrics-port', '0'),
  },
  // One option of tsgi-monitored at a time over plain `tsgi` (the supervised-parts scenario):
  // which of them costs what.
  'tsgi-recycling': {
    label: 'tsgi-express, TSGI app, --maximum-requests 10000',
    command: tsgi('bench/apps/hello.ts', '--maximum-requests', '10000'),
  },
  'tsgi-memory-limit': { label: 'tsgi-express, TSGI app, --memory-limit 512', command: tsgi('bench/apps/hello.ts', '--memory-limit', '512') },
  'tsgi-metrics': { label: 'tsgi-express, TSGI app, --metrics-port (a free one)', command: tsgi('bench/apps/hello.ts', '--metrics-port', '0') },
  'tsgi-unsupervised': { label: 'tsgi-express, TSGI app, --request-timeout 0', command: tsgi('bench/apps/hello.ts', '--request-timeout', '0') },
  'tsgi-log-files': { label: 'tsgi-express, TSGI app, --access-log --log-directory DIR --rotate-logs (5 MiB files)', command: logFiles('bench/apps/hello.ts') },
  // Every limit and slow-client timeout off: what the defaults cost is tsgi over this (the limits scenario).
  'tsgi-no-limits': {
    label: 'tsgi-express, TSGI app, every request limit and timeout off',
    command: tsgi('bench/apps/hello.ts', ...NO_LIMITS),
  },
  // Issue 23: the same hello mounted at /hello in its own process group, reached over the hop.
  'tsgi-group-hop': {
    label: 'tsgi-express, TSGI app at /hello in its own process group (the hop: front worker -> unix socket -> group worker)',
    command: tsgi('bench/apps/hello.ts', '--mount-app', '/hello', 'bench/apps/hello.ts'),
  },
  'tsgi-threads1': { label: 'tsgi-express, TSGI app, --threads 1', command: tsgi('bench/apps/hello.ts', '--threads', '1') },
  'tsgi-fetch': { label: 'tsgi-express, fetch app', command: tsgi('bench/apps/fetch-hello.mjs'), pair: 'bare-fetch' },
  'bare-fetch': { label: 'fetch app on a bare node:http bridge cluster', command: bare('bench/servers/fetch-bridge.mjs') },
  // Issue 26: the same Hono app under tsgi-express and under @hono/node-server on a node:cluster.
  'tsgi-hono': { label: 'tsgi-express, Hono app', command: tsgi('bench/apps/hono-hello.mjs'), pair: 'hono-node-server' },
  'hono-node-server': { label: `Hono app under @hono/node-server on a node:cluster (${PROCESSES} workers)`, command: bare('bench/servers/hono-node-server.mjs') },
  'tsgi-express-app': { label: 'tsgi-express, Express app', command: tsgi('bench/apps/express-hello.mjs'), pair: 'bare-express' },
  'bare-express': { label: 'Express app on its own cluster', command: bare('bench/servers/express-cluster.mjs') },
  'bare-https': { label: `bare node:https cluster (${PROCESSES} workers), same certificate`, command: bareTls('bench/servers/bare-https-cluster.mjs') },
  'tsgi-https': { label: 'tsgi-express, TSGI app, HTTPS', command: tsgiTls('bench/apps/hello.ts') },
  'bare-http2': { label: `bare node:http2 secure server cluster (${PROCESSES} workers, compatibility API), same certificate`, command: bareTls('bench/servers/bare-http2-cluster.mjs') },
  'tsgi-http2': { label: 'tsgi-express, TSGI app, --http2 over TLS', command: tsgiTls('bench/apps/hello.ts', '--http2') },
  'tsgi-auth-basic': { label: 'tsgi-express, TSGI app, Basic auth, trivial synchronous checkPassword', command: tsgi('bench/apps/hello.ts', '--auth-user-script', 'bench/apps/auth-trivial.mjs') },
  'tsgi-express-listen': { label: 'tsgi-express, Express app that calls app.listen() (captured)', command: tsgi('bench/apps/express-listen.mjs'), pair: 'bare-express' },
  'tsgi-fastify': { label: 'tsgi-express, Fastify app (export default fastify)', command: tsgi('bench/apps/fastify-hello.mjs'), pair: 'bare-fastify' },
  'bare-fastify': { label: 'Fastify app on its own cluster', command: bare('bench/servers/fastify-cluster.mjs') },
  'tsgi-ws': { label: 'tsgi-express, ws echo server (captured listen)', command: tsgi('bench/apps/ws-echo.mjs'), pair: 'bare-ws' },
  'bare-ws': { label: 'ws echo server on its own cluster', command: bare('bench/servers/ws-cluster.mjs') },
  'tsgi-proxy': {
    label: 'tsgi-express --proxy-mount-point / in front of the bare cluster',
    command: proxyFront('tsgi'),
    ready: (log) => /^Ready: tsgi-express proxying/m.test(log),
  },
  // The static scenarios: the same two files from each.
  'express-static': {
    label: `express.static on a node:cluster (${PROCESSES} workers)`,
    command: (port) => ({ ...bare('bench/servers/express-static.mjs')(port), env: { PORT: String(port), HOST: '127.0.0.1', PROCESSES: String(PROCESSES), STATIC_DIR: staticDir() } }),
  },
  'tsgi-static': { label: 'tsgi-express --document-root (TSGI app behind it)', command: (port) => tsgi('bench/apps/hello.ts', '--document-root', staticDir())(port) },
};

if (hasReusePort()) {
  SERVERS['bare-reuseport'] = { label: `bare node:http cluster (${PROCESSES} workers), each on its own SO_REUSEPORT socket`, command: bare('bench/servers/bare-cluster.mjs', PROCESSES, 'reuseport') };
}
if (htpasswdFile) {
  SERVERS['tsgi-auth-bcrypt'] = { label: 'tsgi-express, TSGI app, Basic auth, htpasswd bcrypt entry (verified-credentials cache)', command: tsgi('bench/apps/hello.ts', '--auth-user-file', htpasswdFile) };
}
if (which('nginx')) {
  SERVERS['nginx-proxy'] = {
    label: "nginx's proxy_pass in front of the bare cluster",
    command: proxyFront('nginx'),
    ready: (log) => /^Ready: nginx/m.test(log),
  };
}

// Before/after comparisons of a server change: BENCH_REF_CLI=/copy/of/old/bin/tsgi-express
// adds the old build as `tsgi-ref` next to the current one, in the same interleaved run.
if (process.env.BENCH_REF_CLI) {
  SERVERS['tsgi-ref'] = { label: `tsgi-express from ${process.env.BENCH_REF_CLI}, TSGI app`, command: tsgiWith(process.env.BENCH_REF_CLI, 'bench/apps/hello.ts') };
  SERVERS['tsgi-fetch-ref'] = { label: `tsgi-express from ${process.env.BENCH_REF_CLI}, fetch app`, command: tsgiWith(process.env.BENCH_REF_CLI, 'bench/apps/fetch-hello.mjs'), pair: 'bare-fetch' };
  SERVERS['tsgi-hono-ref'] = { label: `tsgi-express from ${process.env.BENCH_REF_CLI}, Hono app`, command: tsgiWith(process.env.BENCH_REF_CLI, 'bench/apps/hono-hello.mjs'), pair: 'hono-node-server' };
}

if (gunicorn) {
  SERVERS.gunicorn = {
    label: `gunicorn (sync, ${PROCESSES} workers), WSGI app`,
    command: (port) => ({
      cmd: gunicorn,
      args: ['-w', String(PROCESSES), '-b', `127.0.0.1:${port}`, '--chdir', 'bench/apps', '--log-level', 'info', 'wsgi_hello:application'],
    }),
    ready: (log) => (log.match(/Booting worker/g) ?? []).length >= PROCESSES,
  };
}

const nginx = nginxBinary(which);
if (nginx) {
  SERVERS.nginx = {
    label: `nginx (${PROCESSES} worker processes, sendfile)`,
    command: nginxCommand(nginx, { processes: PROCESSES, root: staticDir }),
    ready: (log) => (log.match(/start worker process/g) ?? []).length >= PROCESSES,
  };
}

const apache = apacheBinary(which);
if (apache) {
  SERVERS.mod_wsgi = {
    label: `Apache with mod_wsgi (daemon mode, ${PROCESSES} processes x 5 threads), WSGI app`,
    command: apacheCommand(apache, { processes: PROCESSES, script: join(ROOT, 'bench/apps/wsgi_hello.py') }),
    ready: (log) => /resuming normal operations/.test(log),
  };
}
