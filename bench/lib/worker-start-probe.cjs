// Preloaded into tsgi-express workers (NODE_OPTIONS="--require .../worker-start-probe.cjs",
// which the master's forks inherit) by bench/reload-cost.mjs: when a worker sends `ready`
// it appends one JSON line to $TSGI_BENCH_START_LOG: its CPU time so far (user+sys of all
// its threads, process.cpuUsage()), that of its child processes (esbuild's service, which
// tsx starts on the first file it must transform, living or exited; not in cpuUsage), and
// the milliseconds since the process started. Inert anywhere else (the master, other tools).
'use strict';
const { appendFileSync, readFileSync, readdirSync } = require('node:fs');

const out = process.env.TSGI_BENCH_START_LOG;
const TICK_US = 10_000; // USER_HZ 100

/** cutime+cstime of this process: its children that have exited and were waited for (an esbuild run by spawnSync). */
function reapedChildrenCpuUs() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * TICK_US;
}

/** utime+stime of the living descendants of this process, in microseconds. */
function childrenCpuUs(pid) {
  let us = 0;
  let kids = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) kids.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean));
  } catch {}
  for (const kid of kids) {
    try {
      const stat = readFileSync(`/proc/${kid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      us += (Number(f[11]) + Number(f[12])) * TICK_US + childrenCpuUs(kid);
    } catch {}
  }
  return us;
}

if (out && process.env.TSGI_EXPRESS_CONFIG !== undefined && typeof process.send === 'function') {
  const send = process.send;
  let done = false;
  process.send = function (message, ...rest) {
    if (!done && message && message.t === 'ready') {
      done = true;
      const { user, system } = process.cpuUsage();
      const line = { pid: process.pid, node: process.version, cpuMs: (user + system) / 1000, childCpuMs: (childrenCpuUs(process.pid) + reapedChildrenCpuUs()) / 1000, uptimeMs: performance.now() };
      appendFileSync(out, JSON.stringify(line) + '\n');
    }
    return send.call(this, message, ...rest);
  };
}
