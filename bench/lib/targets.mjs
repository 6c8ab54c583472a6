import { overMb, worst } from './worker-memory-report.mjs';
// The targets, checked against this run's medians (hello scenario).
const MB = 1024;

/** A difference of two sizes in KB as signed MB: '+5.2 MB', '-0.3 MB'. */
const signedMb = (kb) => `${kb < 0 ? '-' : '+'}${Math.abs(kb / MB).toFixed(1)} MB`;

/** ' (rounds a-b)': the range of a ratio taken round by round, when there are several. */
function roundRange(ours, ref) {
  const n = Math.min(ours.length, ref.length);
  const ratios = Array.from({ length: n }, (_, i) => ours[i] / ref[i]).filter(Number.isFinite);
  if (ratios.length < 2) return '';
  return ` (rounds ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`;
}

export function checkTargets(results, startup) {
  const h = results.hello ?? {};
  const rows = [];
  const add = (target, value, ok) => rows.push({ target, value, ok });
  const base = h['bare-cluster'];
  // Each throughput target once: [server, reference, what, reference as named, minimum ratio].
  const throughput = [
    ['tsgi', 'bare-cluster', 'TSGI hello', 'bare cluster', 0.9],
    ['tsgi-access-log', 'bare-cluster', '--access-log', 'bare cluster', 0.85],
    ['tsgi-fetch', 'bare-fetch', 'fetch app', 'same app bare', 0.85],
    ['tsgi-express-app', 'bare-express', 'Express app', 'same app bare', 0.85],
  ].filter(([ours, ref]) => h[ours] && h[ref]);
  for (const [ours, ref, what, refName, min] of throughput) {
    const r = h[ours].rps / h[ref].rps;
    add(`${what} req/s >= ${min.toFixed(2)} x ${refName}`, r.toFixed(2) + roundRange(h[ours].roundsRps, h[ref].roundsRps), r >= min);
    if (ours === 'tsgi') {
      const p99 = h.tsgi.p99Ms / base.p99Ms;
      add('TSGI hello p99 <= 1.2 x bare cluster', p99.toFixed(2), p99 <= 1.2);
    }
  }
  // The same targets as CPU efficiency (the reference's CPU time per request over
  // ours): not the measure, reported beside it because it moves far less
  // from run to run on a machine the load generator shares.
  for (const [ours, ref, what, , min] of throughput) {
    const e = h[ref].cpuPerReqUs / h[ours].cpuPerReqUs;
    add(`(CPU) ${what} CPU efficiency >= ${min.toFixed(2)} x ${ref}`, e.toFixed(2) + roundRange(h[ref].roundsCpuUs, h[ours].roundsCpuUs), e >= min);
  }
  const auth = results.auth ?? {};
  if (auth.tsgi && auth['tsgi-auth-basic']) {
    const r = auth['tsgi-auth-basic'].rps / auth.tsgi.rps;
    add('Basic auth (trivial sync checkPassword) req/s >= 0.85 x same hello without auth', r.toFixed(2) + roundRange(auth['tsgi-auth-basic'].roundsRps, auth.tsgi.roundsRps), r >= 0.85);
  }
  if (auth.tsgi && auth['tsgi-auth-bcrypt']) {
    add('(auth) htpasswd bcrypt entry, cached, vs no auth', (auth['tsgi-auth-bcrypt'].rps / auth.tsgi.rps).toFixed(2), null);
  }
  // issue 24: other frameworks' shapes, WebSockets and proxying, each in its own scenario.
  const eco = [
    ['fastify', 'tsgi-fastify', 'bare-fastify', 'Fastify hello req/s >= 0.90 x Fastify on its own cluster', 0.9],
    ['listen-express', 'tsgi-express-listen', 'bare-express', 'captured-listen Express req/s >= 0.90 x its own cluster', 0.9],
    ['ws-echo', 'tsgi-ws', 'bare-ws', 'ws echo round trips/s >= 0.90 x the same ws server bare', 0.9],
    ['proxy', 'tsgi-proxy', 'bare-cluster', 'proxied hello req/s >= 0.50 x the upstream direct', 0.5],
  ];
  for (const [sc, ours, ref, what, min] of eco) {
    const s = results[sc];
    if (!s?.[ours] || !s?.[ref]) continue;
    const r = s[ours].rps / s[ref].rps;
    add(what, r.toFixed(2) + roundRange(s[ours].roundsRps, s[ref].roundsRps), r >= min);
  }
  if (results.proxy?.['nginx-proxy'] && results.proxy['bare-cluster']) {
    add("(nginx) nginx proxy_pass hello over the upstream direct", (results.proxy['nginx-proxy'].rps / results.proxy['bare-cluster'].rps).toFixed(2), null);
  }
  // Issue 19: access log files with rotation against no access log at all; and what the
  // master (the one writer of every log) spends per logged request.
  const files = h['tsgi-log-files'];
  if (files && h.tsgi) {
    const r = files.rps / h.tsgi.rps;
    add('--access-log --log-directory --rotate-logs req/s >= 0.90 x TSGI hello (no access log)', r.toFixed(2) + roundRange(files.roundsRps, h.tsgi.roundsRps), r >= 0.9);
    add('(log files) master CPU per logged request', `${files.masterCpuPerReqUs.toFixed(2)} us (no access log: ${h.tsgi.masterCpuPerReqUs.toFixed(2)} us)`, null);
  }
  // Issue 20: the request limits and slow-client timeouts at their defaults cost nothing measurable.
  const lim = results.limits ?? {};
  if (lim.tsgi && lim['tsgi-no-limits']) {
    const on = lim.tsgi;
    const off = lim['tsgi-no-limits'];
    const r = on.rps / off.rps;
    add('limits at defaults req/s >= 0.97 x all off', r.toFixed(2) + roundRange(on.roundsRps, off.roundsRps), r >= 0.97);
    const e = off.cpuPerReqUs / on.cpuPerReqUs;
    add('(CPU) limits at defaults CPU efficiency >= 0.97 x all off', e.toFixed(2) + roundRange(off.roundsCpuUs, on.roundsCpuUs), e >= 0.97);
  }
  // Issue 17: HTTPS and HTTP/2, each against its bare cluster with the same certificate.
  for (const [scenario, ours, ref, what, min] of [
    ['https', 'tsgi-https', 'bare-https', 'HTTPS keep-alive hello req/s', 0.9],
    ['https-new-connection', 'tsgi-https', 'bare-https', 'HTTPS new TLS connection per request req/s', 0.95],
    ['http2', 'tsgi-http2', 'bare-http2', 'HTTP/2 hello (h2load 10x10) req/s', 0.85],
  ]) {
    const r = results[scenario] ?? {};
    if (!r[ours] || !r[ref]) continue;
    const ratio = r[ours].rps / r[ref].rps;
    add(`${what} >= ${min.toFixed(2)} x bare ${scenario === 'http2' ? 'node:http2' : 'node:https'} cluster`, ratio.toFixed(2) + roundRange(r[ours].roundsRps, r[ref].roundsRps), ratio >= min);
  }
  if (base && h.tsgi) {
    const extra = (h.tsgi.workerKb - base.workerKb) / MB;
    // The issue's memory target is for Node 22.15+, 24 and 26 (per line in "Worker memory per
    // Node line" below); on Node 20 this row is the figure beside them, not a verdict.
    const node20 = Number(process.versions.node.split('.')[0]) < 22;
    add(`worker RSS <= bare worker + 15 MB (hello scenario, Node ${process.version})`, signedMb(h.tsgi.workerKb - base.workerKb), node20 ? null : extra <= 15);
    // Not targets: how the worker's extra memory splits between registering tsx
    // (a bare worker with tsx's loader and nothing else) and the rest of tsgi-express.
    const tsx = h['bare-tsx'];
    if (tsx) {
      add('(tsx) bare worker with tsx registered, over bare worker', signedMb(tsx.workerKb - base.workerKb), null);
      add('(tsx) TSGI worker over bare worker with tsx registered', signedMb(h.tsgi.workerKb - tsx.workerKb), null);
    }
    const master = h.tsgi.leaderKb / MB;
    add('master RSS < 60 MB', `${master.toFixed(1)} MB`, master < 60);
  }
  const f = results.forwarded ?? {};
  if (f.tsgi && f['tsgi-forwarded']) {
    const r = f['tsgi-forwarded'].rps / f.tsgi.rps;
    add('trusted X-Forwarded-For req/s >= 0.95 x plain hello', r.toFixed(2) + roundRange(f['tsgi-forwarded'].roundsRps, f.tsgi.roundsRps), r >= 0.95);
    const e = f.tsgi.cpuPerReqUs / f['tsgi-forwarded'].cpuPerReqUs;
    add('(CPU) trusted X-Forwarded-For CPU efficiency >= 0.95 x plain hello', e.toFixed(2) + roundRange(f.tsgi.roundsCpuUs, f['tsgi-forwarded'].roundsCpuUs), e >= 0.95);
  }
  const sup = results.supervised ?? {};
  if (sup['tsgi-supervised'] && sup['tsgi-unsupervised']) {
    const on = sup['tsgi-supervised'];
    const off = sup['tsgi-unsupervised'];
    const r = on.rps / off.rps;
    add('recycling + request timeout req/s >= 0.95 x the same hello with --request-timeout 0', r.toFixed(2) + roundRange(on.roundsRps, off.roundsRps), r >= 0.95);
    const e = off.cpuPerReqUs / on.cpuPerReqUs;
    add('(CPU) recycling + request timeout CPU efficiency >= 0.95 x --request-timeout 0', e.toFixed(2) + roundRange(off.roundsCpuUs, on.roundsCpuUs), e >= 0.95);
    if (sup.tsgi) add('(supervised) default --request-timeout 60 vs --request-timeout 0', (sup.tsgi.rps / off.rps).toFixed(2), null);
  }
  // Issue 26: a new connection per request, >= 1.5x the round-robin bare cluster and at least
  // gunicorn's figure; the bare cluster's other accept policies beside it, as references.
  const nk = results['no-keepalive'] ?? {};
  if (nk.tsgi && nk['bare-cluster']) {
    const ref = nk['bare-cluster'];
    const r = nk.tsgi.rps / ref.rps;
    add('new connection per request req/s >= 1.50 x bare cluster (round-robin)', r.toFixed(2) + roundRange(nk.tsgi.roundsRps, ref.roundsRps), r >= 1.5);
    const e = ref.cpuPerReqUs / nk.tsgi.cpuPerReqUs;
    add('(CPU) new connection per request CPU efficiency >= 1.50 x bare cluster (round-robin)', e.toFixed(2) + roundRange(ref.roundsCpuUs, nk.tsgi.roundsCpuUs), e >= 1.5);
    if (nk.gunicorn) {
      const g = nk.tsgi.rps / nk.gunicorn.rps;
      add('new connection per request req/s >= gunicorn', g.toFixed(2) + roundRange(nk.tsgi.roundsRps, nk.gunicorn.roundsRps), g >= 1);
    }
    for (const [name, what] of [['bare-shared', 'workers accepting on one shared socket'], ['bare-reuseport', 'a SO_REUSEPORT socket per worker']]) {
      if (nk[name]) add(`(accept) bare cluster, ${what}, over round-robin`, (nk[name].rps / ref.rps).toFixed(2) + roundRange(nk[name].roundsRps, ref.roundsRps), null);
    }
  }
  // Issue 26: fetch apps. A plain fetch hello against bare node:http (not the bridge), and
  // the same Hono app against @hono/node-server on a cluster of the same size.
  const fa = results['fetch-apps'] ?? {};
  for (const [ours, ref, what, min] of [
    ['tsgi-fetch', 'bare-cluster', 'plain fetch hello req/s >= 0.85 x bare node:http cluster', 0.85],
    ['tsgi-hono', 'hono-node-server', 'Hono hello req/s >= 0.95 x the same app under @hono/node-server', 0.95],
  ]) {
    if (!fa[ours] || !fa[ref]) continue;
    const r = fa[ours].rps / fa[ref].rps;
    add(what, r.toFixed(2) + roundRange(fa[ours].roundsRps, fa[ref].roundsRps), r >= min);
    const e = fa[ref].cpuPerReqUs / fa[ours].cpuPerReqUs;
    add(`(CPU) ${what.replace('req/s', 'CPU efficiency')}`, e.toFixed(2) + roundRange(fa[ref].roundsCpuUs, fa[ours].roundsCpuUs), e >= min);
  }
  // Issue 26: large bodies at the bare cluster's speed.
  for (const [scenario, what] of [['64k', '64 KiB response'], ['upload', '1 MiB upload']]) {
    const s = results[scenario] ?? {};
    if (!s.tsgi || !s['bare-cluster']) continue;
    const r = s.tsgi.rps / s['bare-cluster'].rps;
    add(`${what} req/s >= 0.95 x bare cluster`, r.toFixed(2) + roundRange(s.tsgi.roundsRps, s['bare-cluster'].roundsRps), r >= 0.95);
    const e = s['bare-cluster'].cpuPerReqUs / s.tsgi.cpuPerReqUs;
    add(`(CPU) ${what} CPU efficiency >= 0.95 x bare cluster`, e.toFixed(2) + roundRange(s['bare-cluster'].roundsCpuUs, s.tsgi.roundsCpuUs), e >= 0.95);
  }
  // The issue's own configuration: the four flags, --metrics-port among them, against the
  // same hello without them (plain `tsgi`: default --request-timeout, no recycling, no metrics).
  if (sup['tsgi-monitored'] && sup.tsgi) {
    const on = sup['tsgi-monitored'];
    const off = sup.tsgi;
    const r = on.rps / off.rps;
    add('--maximum-requests 10000 --memory-limit 512 --request-timeout 60 --metrics-port req/s >= 0.95 x the same hello without them', r.toFixed(2) + roundRange(on.roundsRps, off.roundsRps), r >= 0.95);
    const e = off.cpuPerReqUs / on.cpuPerReqUs;
    add('(CPU) the same, CPU efficiency >= 0.95 x without them', e.toFixed(2) + roundRange(off.roundsCpuUs, on.roundsCpuUs), e >= 0.95);
  }
  // Static files (issue 22): --document-root against express.static, and how far from nginx.
  for (const [scenario, what] of [['static-4k', '4 KiB file'], ['static-1m', '1 MiB file']]) {
    const s = results[scenario] ?? {};
    if (!s['tsgi-static'] || !s['express-static']) continue;
    const r = s['tsgi-static'].rps / s['express-static'].rps;
    add(`${what}: --document-root req/s >= 1.20 x express.static`, r.toFixed(2) + roundRange(s['tsgi-static'].roundsRps, s['express-static'].roundsRps), r >= 1.2);
    const e = s['express-static'].cpuPerReqUs / s['tsgi-static'].cpuPerReqUs;
    add(`(CPU) ${what}: --document-root CPU efficiency >= 1.20 x express.static`, e.toFixed(2) + roundRange(s['express-static'].roundsCpuUs, s['tsgi-static'].roundsCpuUs), e >= 1.2);
    if (s.nginx) add(`${what}: --document-root req/s over nginx's (no target)`, (s['tsgi-static'].rps / s.nginx.rps).toFixed(2) + roundRange(s['tsgi-static'].roundsRps, s.nginx.roundsRps), null);
  }
  // Issue 26: a worker <= a bare node:http worker + 15 MB on Node 22.15+, 24 and 26, one
  // worker per server on each line's own binary (bench/lib/worker-memory.mjs), the peak under
  // load (VmHWM) and, beside it, at Ready. Node 20 is reported, not a target (tsx's hooks thread).
  for (const [version, rounds] of results['worker-memory'] ?? []) {
    const w = worst(rounds);
    const bare = w['bare-cluster'];
    if (!bare || !w.tsgi) continue;
    const major = Number(version.slice(1).split('.')[0]);
    const peak = (w.tsgi.peakKb - bare.peakKb) / MB;
    const value = `${overMb(w.tsgi.peakKb, bare.peakKb)} MB (${(w.tsgi.peakKb / MB).toFixed(1)} vs ${(bare.peakKb / MB).toFixed(1)}; at Ready ${overMb(w.tsgi.readyKb, bare.readyKb)})`;
    add(`worker peak RSS <= bare worker + 15 MB, one worker, Node ${version}${major < 22 ? ' (not a target: tsx hooks thread)' : ''}`, value, major < 22 ? null : peak <= 15);
  }
  if (startup.startMs !== undefined) add('start-up to first 200 < 1 s', `${Math.round(startup.startMs)} ms`, startup.startMs < 1000);
  if (startup.reloadMs !== undefined) add('saved change served within 1 s', `${Math.round(startup.reloadMs)} ms`, startup.reloadMs <= 1000);
  return rows;
}

export function targetsTable(rows) {
  return ['| Target | Measured | Met |', '| --- | ---: | :---: |', ...rows.map((r) => `| ${r.target} | ${r.value} | ${r.ok === null ? '-' : r.ok ? 'yes' : '**no**'} |`)].join('\n');
}
