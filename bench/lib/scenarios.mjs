// What each server is driven with. `servers` lists who runs the scenario; the
// first is the baseline every ratio in the scenario is taken against.
import { SERVERS } from './servers.mjs';

const optional = (name) => (SERVERS[name] ? [name] : []);

export const SCENARIOS = [
  {
    name: 'hello',
    title: 'hello world (12-byte body, keep-alive)',
    path: '/',
    connections: 50,
    servers: ['bare-cluster', 'bare-single', 'bare-tsx', 'tsgi', ...optional('tsgi-ref'), 'tsgi-access-log', 'tsgi-log-files', 'tsgi-fetch', ...optional('tsgi-fetch-ref'), 'bare-fetch', 'tsgi-express-app', 'bare-express', ...optional('gunicorn'), ...optional('mod_wsgi')],
  },
  {
    name: '64k',
    title: '64 KiB response',
    path: '/64k',
    connections: 50,
    servers: ['bare-cluster', 'tsgi', ...optional('tsgi-ref'), 'tsgi-fetch', ...optional('tsgi-fetch-ref'), 'bare-fetch', ...optional('gunicorn'), ...optional('mod_wsgi')],
  },
  {
    name: 'upload',
    title: '1 MiB upload, hashed (sha256)',
    path: '/upload',
    upload: true,
    connections: 8,
    servers: ['bare-cluster', 'tsgi', ...optional('tsgi-ref'), 'tsgi-fetch', ...optional('tsgi-fetch-ref'), 'bare-fetch', ...optional('gunicorn'), ...optional('mod_wsgi')],
  },
  {
    // Issue 23: hello behind the process-group hop vs the same app served by the front itself
    // (plain tsgi answers /hello/ from its main app at /); target >= 0.60, CPU per request reported.
    name: 'group-hop',
    title: 'hello world behind the process-group hop (its own group, reached from the front) vs served directly',
    path: '/hello/',
    connections: 50,
    servers: ['tsgi', 'tsgi-group-hop'],
  },
  {
    // Issue 26: fetch apps against their own servers. tsgi-fetch's reference is the bare
    // node:http cluster (the plain fetch hello's target, >= 0.85); tsgi-hono's is the same
    // Hono app under @hono/node-server on a cluster of the same size (>= 0.95).
    name: 'fetch-apps',
    title: 'fetch apps (hello world, keep-alive): a plain fetch app vs bare node:http, Hono vs @hono/node-server',
    path: '/',
    connections: 50,
    servers: ['bare-cluster', 'tsgi-fetch', ...optional('tsgi-fetch-ref'), 'hono-node-server', 'tsgi-hono', ...optional('tsgi-hono-ref')],
  },
  {
    name: 'no-keepalive',
    title: 'no keep-alive (Connection: close, a new connection per request)',
    path: '/',
    close: true,
    connections: 16,
    servers: ['bare-cluster', 'bare-shared', ...optional('bare-reuseport'), 'tsgi', ...optional('tsgi-ref'), ...optional('gunicorn'), ...optional('mod_wsgi')],
  },
  {
    // The baseline is the same hello without authentication; every request carries credentials.
    name: 'auth',
    title: 'hello world with Basic credentials (authentication vs none)',
    path: '/',
    connections: 50,
    headers: ['Authorization: Basic ' + Buffer.from('bench:bench').toString('base64')],
    servers: ['tsgi', 'tsgi-auth-basic', ...optional('tsgi-auth-bcrypt')],
  },
  {
    // Issue 20: trusting a proxy's X-Forwarded-For costs (almost) nothing. Every
    // request carries the header, as behind a proxy; plain `tsgi` gets it too and
    // ignores it, so the two differ only in the proxy-headers stage.
    name: 'forwarded',
    title: 'hello world with X-Forwarded-For on every request, trusted (--trust-proxy 127.0.0.1/32) vs not configured',
    path: '/',
    connections: 50,
    headers: ['X-Forwarded-For: 203.0.113.5'],
    servers: ['bare-cluster', 'tsgi', 'tsgi-forwarded'],
  },
  {
    name: 'fastify',
    title: 'Fastify hello world: tsgi-express vs Fastify on its own cluster',
    path: '/',
    connections: 50,
    servers: ['bare-fastify', 'tsgi-fastify'],
  },
  {
    name: 'listen-express',
    title: 'Express hello world that calls app.listen(): captured vs its own cluster',
    path: '/',
    connections: 50,
    servers: ['bare-express', 'tsgi-express-listen', 'tsgi-express-app'],
  },
  {
    name: 'ws-echo',
    title: 'WebSocket echo round trips (16-byte messages, 50 clients)',
    path: '/',
    ws: true,
    connections: 50,
    servers: ['bare-ws', 'tsgi-ws'],
  },
  {
    name: 'proxy',
    title: 'hello world through a reverse proxy (upstream: the bare cluster)',
    path: '/',
    connections: 50,
    servers: ['bare-cluster', 'tsgi-proxy', ...optional('nginx-proxy')],
  },
  {
    // Issue 21: recycling and the request watchdog cost (almost) nothing. The same hello
    // with --maximum-requests 10000 --memory-limit 512 --request-timeout 60 against
    // --request-timeout 0 (nothing timed per request, no recycling); plain `tsgi` has the
    // default --request-timeout 60. At this load each worker reaches 10000 requests in
    // about a second, so the supervised server is recycling a worker most of the time.
    // tsgi-monitored adds --metrics-port: the metrics' counting (a histogram per response,
    // the stats the master gathers) on every request; no one scrapes during the run.
    name: 'supervised',
    title: 'hello world, --maximum-requests 10000 --memory-limit 512 --request-timeout 60 [--metrics-port P] vs --request-timeout 0',
    path: '/',
    connections: 50,
    servers: ['bare-cluster', 'tsgi-unsupervised', 'tsgi-supervised', 'tsgi-monitored', 'tsgi'],
  },
  {
    // Run only when named (--only supervised-parts): tsgi-monitored's options one at a
    // time over plain `tsgi`, to find which costs what (bench/NOTES.md, "Monitored hello").
    name: 'supervised-parts',
    optIn: true,
    title: 'hello world, each of --maximum-requests 10000, --memory-limit 512, --metrics-port P, --request-timeout 0 alone, and all four',
    path: '/',
    connections: 50,
    servers: ['tsgi', 'tsgi-unsupervised', 'tsgi-recycling', 'tsgi-memory-limit', 'tsgi-metrics', 'tsgi-monitored'],
  },
  {
    // tsgi runs with the defaults: request limits, header/body/socket timeouts on.
    name: 'limits',
    title: 'hello world, request limits and timeouts at their defaults (tsgi) and all off',
    path: '/',
    connections: 50,
    servers: ['bare-cluster', 'tsgi', 'tsgi-no-limits'],
  },
  {
    name: 'static-4k',
    title: 'a 4 KiB file (express.static is the reference)',
    path: '/4k.bin',
    connections: 50,
    servers: ['express-static', 'tsgi-static', ...optional('nginx')],
  },
  {
    name: 'static-1m',
    title: 'a 1 MiB file (express.static is the reference)',
    path: '/1m.bin',
    connections: 50,
    servers: ['express-static', 'tsgi-static', ...optional('nginx')],
  },
  {
    name: 'https',
    title: 'HTTPS hello world (keep-alive), same certificate',
    path: '/',
    scheme: 'https',
    connections: 50,
    servers: ['bare-https', 'tsgi-https'],
  },
  {
    // Handshakes dominate: every request opens a TLS connection (and resumes a session when the client offers one).
    name: 'https-new-connection',
    title: 'HTTPS, a new TLS connection per request (Connection: close)',
    path: '/',
    scheme: 'https',
    close: true,
    connections: 16,
    servers: ['bare-https', 'tsgi-https'],
  },
  {
    name: 'http2',
    title: 'HTTP/2 hello world over TLS (h2load, 10 connections x 10 streams)',
    path: '/',
    scheme: 'https',
    generator: 'h2load',
    connections: 10,
    streams: 10,
    servers: ['bare-http2', 'tsgi-http2'],
  },
  {
    name: 'threads1',
    title: 'hello world, tsgi-express --threads 1',
    path: '/',
    connections: 50,
    servers: ['bare-cluster', 'tsgi-threads1'],
  },
];
