// How much of the machine something else used during a run. The box is shared
// (tests, editors, other sessions), and a run that competed for the CPU measures
// the competition, so each run records the CPU time of processes that are neither
// the server's group nor the harness and its children (the load generator), as a
// share of all CPUs; run.mjs repeats a run where it is high.
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

const TICK_MS = 10; // USER_HZ is 100 on Linux

function machineBusyTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return f[0] + f[1] + f[2]; // user nice system (softirq is loopback traffic: ours)
}

function statFields(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function groupTicks(pgid) {
  let ticks = 0;
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) > 57) continue;
    try {
      const f = statFields(name);
      if (Number(f[2]) === pgid) ticks += Number(f[11]) + Number(f[12]);
    } catch {}
  }
  return ticks;
}

function selfTicks() {
  const f = statFields(process.pid);
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]); // utime stime cutime cstime
}

/** Starts counting; the returned function gives the foreign CPU share (0..1) since then. */
export function foreignCpu(pgid) {
  const t0 = performance.now();
  const m0 = machineBusyTicks();
  const ours0 = groupTicks(pgid) + selfTicks();
  return () => {
    const wallTicks = ((performance.now() - t0) / TICK_MS) * os.availableParallelism();
    const foreign = machineBusyTicks() - m0 - (groupTicks(pgid) + selfTicks() - ours0);
    return Math.max(0, foreign / wallTicks);
  };
}

/**
 * Starts counting the CPU time (utime+stime) of the server's whole process group;
 * the returned function gives the microseconds used since then. Divided by the
 * requests served, it is steadier than req/s on this 2-core machine, where the
 * load generator and the server compete for the same CPUs.
 */
export function serverCpu(pgid) {
  const t0 = groupTicks(pgid);
  return () => (groupTicks(pgid) - t0) * TICK_MS * 1000;
}

/** The CPU time (utime+stime) of one process, in microseconds since the returned function was made. */
export function processCpu(pid) {
  const ticks = () => {
    try {
      const f = statFields(pid);
      return Number(f[11]) + Number(f[12]);
    } catch {
      return 0;
    }
  };
  const t0 = ticks();
  return () => (ticks() - t0) * TICK_MS * 1000;
}
