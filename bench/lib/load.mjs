// The load generator, always a separate process: wrk when installed (a C event
// loop; far lighter than autocannon on a 2-core machine where the generator
// shares the CPU with the server), else autocannon from node_modules.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runToEnd } from './proc.mjs';

const LUA = fileURLToPath(new URL('./report.lua', import.meta.url));
const AUTOCANNON = fileURLToPath(new URL('../../node_modules/autocannon/autocannon.js', import.meta.url));
const WS_LOAD = fileURLToPath(new URL('./ws-load.mjs', import.meta.url));

function has(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const generator = process.env.BENCH_GENERATOR ?? (has('wrk') ? 'wrk' : 'autocannon');

/**
 * HTTP/2 scenarios: h2load (nghttp2's load generator, one thread), `connections`
 * connections with `streams` streams each, for `seconds`; each request's latency
 * goes to `logFile`, for the percentiles h2load itself does not print.
 */
function h2loadCommand({ url, seconds, connections, streams = 1, headers = [] }, logFile = 'LOGFILE') {
  return {
    cmd: 'h2load',
    args: ['-t1', `-c${connections}`, `-m${streams}`, `-D${seconds}`, `--log-file=${logFile}`, ...headers.flatMap((h) => ['-H', h]), url],
    env: {},
  };
}

function percentile(sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

async function runH2load(load) {
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-h2load-'));
  const logFile = join(dir, 'requests.tsv');
  try {
    const { cmd, args } = h2loadCommand(load, logFile);
    const out = await runToEnd(cmd, args, { timeoutMs: (load.seconds + 30) * 1000 });
    const m = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
    const codes = /status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
    const finished = /finished in ([\d.]+)(m?s),/.exec(out);
    if (!m || !codes || !finished) throw new Error(`h2load printed no summary:\n${out}`);
    const seconds = Number(finished[1]) / (finished[2] === 'ms' ? 1000 : 1);
    // start (us since the epoch) \t status \t microseconds to the end of the response
    const latencies = readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((line) => Number(line.split('\t')[2]) / 1000).sort((a, b) => a - b);
    const succeeded = Number(m[3]);
    return {
      requests: succeeded,
      rps: succeeded / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      errors: Number(m[4]) + Number(m[5]) + Number(m[6]) + Number(codes[1]) + Number(codes[2]) + Number(codes[3]),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The command line for one run. `load` is { url, seconds, connections, upload, close }.
 * One wrk thread: a second would take a core from the server under test.
 */
export function loadCommand({ url, seconds, connections, upload, close, headers = [], ws, generator: forScenario, streams }) {
  // WebSocket echo round trips: our own client (wrk speaks no WebSocket).
  if (ws) return { cmd: process.execPath, args: [WS_LOAD, url.replace(/^http/, 'ws'), String(connections), String(seconds)], env: {} };
  if (forScenario === 'h2load') return h2loadCommand({ url, seconds, connections, streams, headers });
  const extra = headers.flatMap((h) => ['-H', h]);
  if (generator === 'wrk') {
    const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '-s', LUA, ...extra];
    if (close) args.push('-H', 'Connection: close');
    args.push(url);
    return { cmd: 'wrk', args, env: upload ? { UPLOAD: '1' } : {} };
  }
  const args = ['--json', '-c', String(connections), '-d', String(seconds), '-t', '5', ...extra];
  if (close) args.push('-H', 'Connection: close');
  if (upload) args.push('-m', 'POST', '-b', 'a'.repeat(1048576));
  args.push(url);
  return { cmd: process.execPath, args: [AUTOCANNON, ...args], env: {} };
}

/** Runs the generator; resolves with { rps, p50Ms, p99Ms, errors, requests }. */
export async function runLoad(load) {
  if (load.generator === 'h2load') return runH2load(load);
  const { cmd, args, env } = loadCommand(load);
  const out = await runToEnd(cmd, args, { timeoutMs: (load.seconds + 30) * 1000, env });
  if (load.ws) {
    const line = out.split('\n').find((l) => l.startsWith('WSJSON '));
    if (!line) throw new Error(`ws-load printed no summary:\n${out}`);
    const s = JSON.parse(line.slice(7));
    return { requests: s.requests, rps: s.requests / (s.duration_us / 1e6), p50Ms: s.p50_us / 1000, p99Ms: s.p99_us / 1000, errors: s.errors };
  }
  if (generator === 'wrk') {
    const line = out.split('\n').find((l) => l.startsWith('WRKJSON '));
    if (!line) throw new Error(`wrk printed no summary:\n${out}`);
    const s = JSON.parse(line.slice(8));
    return {
      requests: s.requests,
      rps: s.requests / (s.duration_us / 1e6),
      p50Ms: s.p50_us / 1000,
      p99Ms: s.p99_us / 1000,
      errors: s.connect + s.read + s.write + s.status + s.timeout,
    };
  }
  const s = JSON.parse(out);
  return {
    requests: s.requests.total,
    rps: s.requests.average,
    p50Ms: s.latency.p50,
    p99Ms: s.latency.p99,
    errors: s.errors + s.timeouts + s.non2xx,
  };
}

/** The command line as text, for RESULTS.md. */
export function describeLoad(load) {
  const { cmd, args, env } = loadCommand(load);
  const prefix = Object.entries(env).map(([k, v]) => `${k}=${v} `).join('');
  return prefix + [cmd, ...args].map((a) => (/[\s']/.test(a) ? `'${a}'` : a)).join(' ').replace(process.execPath, 'node');
}
