// Starting and stopping the processes the harness runs. Every server is spawned
// detached, so it leads its own process group: one kill(-pgid) reaches the master
// and all its workers, and /proc tells which processes belong to it.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';

const live = new Set();

/** Kills every process group still running; installed for exit, Ctrl-C and errors. */
export function killAll() {
  for (const pid of live) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
  }
  live.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

/**
 * Runs a bench script's `main`: its error printed and the exit code set to 1;
 * then every server group killed and `cleanup` run (a temporary directory).
 */
export function runScript(main, cleanup = () => {}) {
  main()
    .catch((err) => {
      process.stderr.write(String(err?.stack ?? err) + '\n');
      process.exitCode = 1;
    })
    .finally(() => {
      killAll();
      cleanup();
    });
}

/**
 * Spawns `cmd args` in a new process group with stdout and stderr going to
 * `logFile` (a file, never a pipe the harness must drain or a terminal: an access
 * log then costs what it costs in production). Resolves with the handle once the
 * log satisfies `ready`, rejects on exit or timeout.
 */
export function startServer({ cmd, args, env = {}, cwd, logFile, ready = (log) => /^Ready: /m.test(log), timeoutMs = 20_000 }) {
  const fd = openSync(logFile, 'w');
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  live.add(child.pid);
  const started = performance.now();
  const handle = { pid: child.pid, child, startMs: 0, stop: () => stopGroup(child), log: () => readLog(logFile) };
  return new Promise((resolve, reject) => {
    let exited = false;
    child.once('exit', () => (exited = true));
    const poll = setInterval(() => {
      const log = readLog(logFile);
      if (ready(log)) {
        clearInterval(poll);
        handle.startMs = performance.now() - started;
        return resolve(handle);
      }
      if (exited || performance.now() - started > timeoutMs) {
        clearInterval(poll);
        stopGroup(child);
        const why = exited ? `exited (${child.exitCode ?? child.signalCode}) before ready` : `not ready after ${timeoutMs} ms`;
        reject(new Error(`${cmd} ${args.join(' ')}: ${why}\n${log.slice(-3000)}`));
      }
    }, 20);
  });
}

function readLog(file) {
  try {
    // Only the head matters for readiness and errors; an access log may be large.
    const fd = openSync(file, 'r');
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    closeSync(fd);
    return buf.subarray(0, n).toString('utf8');
  } catch {
    return '';
  }
}

/** SIGTERM to the group, SIGKILL after 3 s; resolves when the leader has exited. */
export function stopGroup(child) {
  return new Promise((resolve) => {
    let timer;
    const done = () => {
      clearTimeout(timer);
      try {
        process.kill(-child.pid, 'SIGKILL'); // stragglers (workers) of the group
      } catch {}
      live.delete(child.pid);
      resolve();
    };
    if (child.exitCode !== null || child.signalCode !== null) return done();
    timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, 3000);
    child.once('exit', done);
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      done();
    }
  });
}

/** Runs a command to completion (the load generator); resolves with its stdout. */
export function runToEnd(cmd, args, { timeoutMs, env = {} }) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { detached: true, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child.pid);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      live.delete(child.pid);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${code ?? signal}): ${err.slice(-2000)}`));
    });
  });
}
