// The load generator, always a separate process: wrk when installed (a C event
// loop; far lighter than autocannon on a 2-core machine where the generator
// shares the CPU with the server), else autocannon from node_modules.
import { execFileSync } from 'node:child_process';
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
 * The command line for one run. `load` is { url, seconds, connections, upload, close }.
 * One wrk thread: a second would take a core from the server under test.
 */
export function loadCommand({ url, seconds, connections, upload, close, headers = [], ws }) {
  // WebSocket echo round trips: our own client (wrk speaks no WebSocket).
  if (ws) return { cmd: process.execPath, args: [WS_LOAD, url.replace(/^http/, 'ws'), String(connections), String(seconds)], env: {} };
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
