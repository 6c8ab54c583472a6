// npm run bench [-- --quick] [-- --only hello,64k] : the benchmark harness (bench/README.md).
// Servers run interleaved — each round starts every server in turn, drives it
// through each scenario it takes part in, and stops it — so a drift of the
// machine (thermal, other load) spreads over all servers instead of biasing one.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { foreignCpu, processCpu, serverCpu } from './lib/cpu.mjs';
import { describeLoad, generator, runLoad } from './lib/load.mjs';
import { freePort } from './lib/port.mjs';
import { killAll, startServer } from './lib/proc.mjs';
import { scenarioTable } from './lib/report.mjs';
import { sampleRss } from './lib/rss.mjs';
import { SCENARIOS } from './lib/scenarios.mjs';
import { PROCESSES, ROOT, SERVERS } from './lib/servers.mjs';
import { measureReload, measureStartup } from './lib/startup.mjs';
import { median, max } from './lib/stats.mjs';
import { checkTargets, targetsTable } from './lib/targets.mjs';
import { measureNodeLines } from './lib/worker-memory.mjs';
import { memoryTable } from './lib/worker-memory-report.mjs';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    servers: { type: 'string' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    out: { type: 'string' },
  },
});
const ROUNDS = Number(opts.rounds ?? (opts.quick ? 1 : 3));
const SECONDS = Number(opts.duration ?? (opts.quick ? 2 : 6));
// JIT warm-up: Express needs ~3 s of load before it reaches its speed, so each
// server's first scenario warms long; later ones only refill their connections.
const FIRST_WARM_SECONDS = opts.quick ? 2 : 4;
const WARM_SECONDS = 1;
// A run during which other processes took more than this share of the CPUs is
// repeated (up to RETRIES times); the share is reported either way.
const MAX_FOREIGN_CPU = 0.1;
const RETRIES = 2;
const STARTUP_TRIES = opts.quick ? 1 : 3;
// Only a full run replaces bench/RESULTS.md; a subset or --quick run must not
// overwrite the record with partial numbers.
const PARTIAL = Boolean(opts.quick || opts.only || opts.servers || opts.rounds || opts.duration);
const OUT = opts.out ?? join(ROOT, PARTIAL ? 'bench/out/partial.md' : 'bench/RESULTS.md');
// Hand-written notes (profiles, what each optimisation bought, memory breakdown)
// live in bench/NOTES.md and are appended, so a new run keeps them.
const NOTES = join(ROOT, 'bench/NOTES.md');

const onlyScenarios = opts.only?.split(',');
const onlyServers = opts.servers?.split(',');
// With gunicorn and Apache installed, --quick took 110 of its 120 s; there the
// Python references (the WSGI hello app is what the comparison needs) run hello only.
const PYTHON_REFERENCES = new Set(['gunicorn', 'mod_wsgi']);
const quickSkips = (scenario, name) => opts.quick && scenario.name !== 'hello' && PYTHON_REFERENCES.has(name);
// An opt-in scenario (a diagnosis, not a target) runs only when --only names it.
const scenarios = SCENARIOS.filter((s) => (onlyScenarios ? onlyScenarios.includes(s.name) : !s.optIn)).map((s) => ({
  ...s,
  servers: s.servers.filter((n, i) => (i === 0 || !onlyServers || onlyServers.includes(n)) && !quickSkips(s, n)),
}));
const serverOrder = [...new Set(scenarios.flatMap((s) => s.servers))];
const tmp = mkdtempSync(join(os.tmpdir(), 'tsgi-bench-'));
const log = (text) => process.stderr.write(text + '\n');

/** samples[scenario][server] = [{ rps, p50Ms, p99Ms, errors, totalKb, leaderKb, workerKb }, ...] */
const samples = {};
const commandLines = new Map();

async function runServer(name, round) {
  const spec = SERVERS[name];
  const port = await freePort();
  const { cmd, args, env } = spec.command(port);
  commandLines.set(name, `${Object.entries(env ?? {}).map(([k, v]) => `${k}=${v} `).join('')}${cmd.replace(process.execPath, 'node')} ${args.join(' ')}`);
  const server = await startServer({ cmd, args, env, cwd: ROOT, logFile: join(tmp, `${name}-${round}.log`), ready: spec.ready });
  try {
    let warm = FIRST_WARM_SECONDS;
    for (const sc of scenarios.filter((s) => s.servers.includes(name))) {
      const scheme = sc.scheme ?? 'http';
      const load = { url: `${scheme}://127.0.0.1:${port}${sc.path}`, connections: sc.connections, upload: sc.upload, close: sc.close, headers: sc.headers, generator: sc.generator, streams: sc.streams, ws: sc.ws };
      await runLoad({ ...load, seconds: warm });
      warm = WARM_SECONDS;
      let r, rss, foreign, cpuUs, masterUs;
      for (let attempt = 0; ; attempt++) {
        const stopSampling = sampleRss(server.pid);
        const stopCpu = foreignCpu(server.pid);
        const stopServerCpu = serverCpu(server.pid);
        const stopMasterCpu = processCpu(server.pid);
        r = await runLoad({ ...load, seconds: SECONDS });
        cpuUs = stopServerCpu();
        masterUs = stopMasterCpu();
        foreign = stopCpu();
        rss = stopSampling();
        if (foreign <= MAX_FOREIGN_CPU || attempt === RETRIES) break;
        log(`  (other processes used ${(foreign * 100).toFixed(0)}% of the CPUs; repeating the run)`);
        await new Promise((res) => setTimeout(res, 3000));
      }
      const cpuPerReqUs = r.requests > 0 ? cpuUs / r.requests : NaN;
      // The master's own share: what writing the logs costs it per request (the tsgi-log-files server).
      const masterCpuPerReqUs = r.requests > 0 ? masterUs / r.requests : NaN;
      ((samples[sc.name] ??= {})[name] ??= []).push({ ...r, ...rss, foreign, cpuPerReqUs, masterCpuPerReqUs });
      commandLines.set(`load:${sc.name}`, describeLoad({ ...load, url: `${scheme}://127.0.0.1:PORT${sc.path}`, seconds: SECONDS }));
      log(`  round ${round} ${sc.name.padEnd(12)} ${name.padEnd(17)} ${Math.round(r.rps).toString().padStart(6)} req/s  p99 ${r.p99Ms.toFixed(2)} ms  CPU ${cpuPerReqUs.toFixed(1)} us/req  errors ${r.errors}  tree ${(rss.totalKb / 1024).toFixed(0)} MB  other CPU ${(foreign * 100).toFixed(0)}%`);
    }
  } finally {
    await server.stop();
  }
}

function summarise() {
  const results = {};
  for (const [sc, byServer] of Object.entries(samples)) {
    results[sc] = {};
    for (const [name, runs] of Object.entries(byServer)) {
      results[sc][name] = {
        rps: median(runs.map((r) => r.rps)),
        p50Ms: median(runs.map((r) => r.p50Ms)),
        p99Ms: median(runs.map((r) => r.p99Ms)),
        errors: runs.reduce((a, r) => a + r.errors, 0),
        totalKb: max(runs.map((r) => r.totalKb)),
        leaderKb: max(runs.map((r) => r.leaderKb)),
        workerKb: max(runs.map((r) => r.workerKb)),
        foreign: max(runs.map((r) => r.foreign)),
        cpuPerReqUs: median(runs.map((r) => r.cpuPerReqUs)),
        masterCpuPerReqUs: median(runs.map((r) => r.masterCpuPerReqUs)),
        // Per round, in round order: the targets table shows the spread of the ratios.
        roundsRps: runs.map((r) => r.rps),
        roundsCpuUs: runs.map((r) => r.cpuPerReqUs),
      };
    }
  }
  return results;
}

async function main() {
  const t0 = performance.now();
  log(`tsgi-express bench: ${ROUNDS} round(s), ${SECONDS} s per run (+${FIRST_WARM_SECONDS}/${WARM_SECONDS} s warm-up), generator ${generator}`);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const name of serverOrder) await runServer(name, round);
  }
  const startup = {};
  if (!onlyScenarios) {
    const starts = [];
    for (let i = 0; i < STARTUP_TRIES; i++) starts.push(await measureStartup(await freePort(), join(tmp, `startup-${i}.log`)));
    startup.startMs = median(starts);
    startup.reloadMs = median(await measureReload(await freePort(), join(tmp, 'reload.log'), STARTUP_TRIES));
    log(`  start-up ${starts.map((s) => Math.round(s)).join(', ')} ms; reload ${Math.round(startup.reloadMs)} ms (median)`);
  }
  const results = summarise();
  // Issue 26's memory target per Node line: one worker each, this node beside the pinned
  // binaries (.ci/node-version.sh), bare and tsgi on the same binary. Only in a full run or
  // when --only names it (BENCH_MEMORY_NODES=20,24 to choose the lines).
  if (!onlyScenarios || onlyScenarios.includes('worker-memory')) {
    const majors = (process.env.BENCH_MEMORY_NODES ?? `${process.versions.node.split('.')[0]},22,24,26`).split(',');
    const servers = (onlyServers ?? ['bare-tsx', 'tsgi']).filter((n) => n !== 'bare-cluster');
    results['worker-memory'] = measureNodeLines([...new Set(majors)], { servers: ['bare-cluster', ...servers], seconds: SECONDS, rounds: opts.quick ? 1 : 2, log });
  }
  const md = render(results, startup, (performance.now() - t0) / 1000);
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, md);
  log(`written to ${OUT}`);
  process.stdout.write(md);
}

function render(results, startup, elapsed) {
  const cpu = os.cpus();
  const parts = [
    '# Benchmark results',
    '',
    `Produced by \`npm run bench${opts.quick ? ' -- --quick' : ''}\` (bench/run.mjs) in ${Math.round(elapsed)} s. ` +
      'Medians over rounds; ratios are to the bare node:http cluster in the same scenario of the same run; ' +
      '"vs pair" is to the same app served bare. The load generator runs on the same machine.',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Node ${process.version}, ${os.platform()} ${os.release()}, ${cpu.length} CPUs (${cpu[0]?.model ?? 'unknown'})`,
    `- Processes per server: ${PROCESSES}; rounds: ${ROUNDS}; ${SECONDS} s per run after a warm-up of ${FIRST_WARM_SECONDS} s (a server's first scenario) or ${WARM_SECONDS} s (the others); generator: ${generator}`,
    '',
  ];
  const checked = checkTargets(results, startup);
  if (checked.length) parts.push('## Targets', '', targetsTable(checked), '');
  for (const sc of scenarios) {
    if (!results[sc.name]) continue;
    parts.push(`## ${sc.title}`, '', scenarioTable(sc, results[sc.name], SERVERS), '', `Load: \`${commandLines.get(`load:${sc.name}`)}\``, '');
  }
  if (results['worker-memory']?.length) {
    parts.push(
      '## Worker memory per Node line',
      '',
      'One worker per server (`BENCH_PROCESSES=1`), on each line\'s own binary (this node; 22, 24, 26 from `.ci/node-version.sh`): ' +
        'VmRSS 1 s after Ready, and VmHWM after a 1 s warm-up and the run\'s duration of `wrk -t1 -c50` on `/`. One row per round. ' +
        'The targets table compares each line\'s largest tsgi peak with its largest bare peak (`node bench/worker-memory.mjs` runs this alone).',
      '',
      memoryTable(results['worker-memory']),
      '',
    );
  }
  parts.push('## Command lines', '', ...serverOrder.map((n) => `- ${n} (${SERVERS[n].label}): \`${commandLines.get(n)}\``), '');
  if (existsSync(NOTES)) parts.push(readFileSync(NOTES, 'utf8'));
  return parts.join('\n');
}

main()
  .catch((err) => {
    log(String(err?.stack ?? err));
    process.exitCode = 1;
  })
  .finally(() => {
    killAll();
    rmSync(tmp, { recursive: true, force: true });
  });
