/**
 * Starts the real, compiled CLI (bin/tsgi-express) as a child process on an
 * ephemeral loopback port and waits for its readiness line. Every server started
 * here is killed (its whole process group, by pid) by killAll(), which each test
 * file registers with after(), and its server root is removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin/tsgi-express');
export const FIXTURES = path.join(ROOT, 'test/fixtures');

/** The master prints this line when every worker is listening. */
export const READY_LINE = /Ready: \d+ workers? serving (https?:\/\/\S+)/;

export interface RunningServer {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly url: string;
  readonly port: number;
  /** With --https-port: the HTTPS listener's URL and port (the Ready line's second URL). */
  readonly httpsUrl: string | undefined;
  readonly httpsPort: number | undefined;
  /** Everything the server printed so far (stdout and stderr). */
  output(): string;
  /** Resolves when the output (from `from` on) matches re; rejects after timeoutMs. */
  waitFor(re: RegExp, timeoutMs?: number, from?: number): Promise<RegExpMatchArray>;
  /** Sends a signal to the master only. */
  signal(sig: NodeJS.Signals): void;
  /** Resolves with the exit code/signal once the master has exited. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started = new Set<ChildProcess>();
/** Server roots the servers reported (by default one per port under $TMPDIR), removed by killAll(). */
const serverRoots = new Set<string>();

interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
  /** The --host startServer passes (default 127.0.0.1); null: none, every interface. */
  host?: string | null;
  /** The CLI script to run (default: this checkout's bin/tsgi-express). */
  bin?: string;
  /** The --port startServer passes (default 0, an ephemeral one): a port a test picked, to start again on. */
  port?: number;
  /** Run the CLI as this user and group (the tests run as root). */
  uid?: number;
  gid?: number;
}

/** Runs the CLI to completion (for bad flags and startup failures). */
export async function runCli(args: string[], opts: RunOptions = {}) {
  const child = spawnCli(args, opts);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const timer = setTimeout(() => killGroup(child), opts.readyTimeoutMs ?? 20_000);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  started.delete(child);
  return { code, signal, output: out };
}

function spawnCli(args: string[], opts: RunOptions): ChildProcess {
  const child = spawn(process.execPath, [opts.bin ?? BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    detached: true, // own process group, so killAll() reaches workers too
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid ?? opts.uid } : {}),
  });
  started.add(child);
  return child;
}

/** Starts `tsgi-express start-server ARGS --host 127.0.0.1 --port 0` and waits until ready. */
export async function startServer(args: string[], opts: RunOptions = {}): Promise<RunningServer> {
  const host = opts.host === undefined ? '127.0.0.1' : opts.host;
  const child = spawnCli(['start-server', ...args, ...(host === null ? [] : ['--host', host]), '--port', String(opts.port ?? 0)], opts);
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exit = once(child, 'exit').then(([code, signal]) => ({ code, signal }));
  exit.then(() => waiters.forEach((w) => w()));
  const waitFor = (re: RegExp, timeoutMs = 15_000, from = 0) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = out.slice(from).match(re);
        if (m) return done(() => resolve(m));
        if (child.exitCode !== null || child.signalCode !== null) {
          done(() => reject(new Error(`server exited (code ${child.exitCode}, signal ${child.signalCode}) before ${re}; output:\n${out}`)));
        }
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`timed out waiting for ${re}; output:\n${out}`))),
        timeoutMs,
      );
      const done = (f: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        f();
      };
      waiters.add(check);
      check();
    });
  const ready = await waitFor(READY_LINE, opts.readyTimeoutMs ?? 20_000);
  const root = /^Server Root {8}: (.+)$/m.exec(out)?.[1];
  if (root) serverRoots.add(root);
  const url = ready[1]!;
  const httpsUrl = /^Ready: .* (https:\/\/\S+)/m.exec(out)?.[1];
  return {
    child,
    pid: child.pid!,
    url,
    port: Number(new URL(url).port),
    httpsUrl,
    httpsPort: httpsUrl === undefined ? undefined : Number(new URL(httpsUrl).port),
    output: () => out,
    waitFor,
    signal: (sig) => child.kill(sig),
    exited: () => exit as Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  };
}

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Kills every server this process started (whole process groups). Use in after(). */
export function killAll(): void {
  for (const child of started) killGroup(child);
  started.clear();
  // A killed master leaves its server root (and pid file) behind; thousands of runs add up.
  for (const root of serverRoots) rmSync(root, { recursive: true, force: true });
  serverRoots.clear();
}

/** Pids still alive in the process group of a server (for "nothing left behind" checks). */
export function groupAlive(pgid: number): boolean {
  return pidAlive(-pgid);
}

/** Whether process `pid` (a negative one: a process group) still exists. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls (bounded) until no process of the group is left; whether none is. */
export async function waitGone(pgid: number, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (groupAlive(pgid)) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** Pids of the children of `pid` whose command line mentions `marker` (Linux /proc). */
export function childrenRunning(pid: number, marker: string): number[] {
  let children: string;
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
  } catch {
    return []; // gone
  }
  return children.trim().split(/\s+/).filter(Boolean).map(Number).filter((child) => {
    try {
      return readFileSync(`/proc/${child}/cmdline`, 'utf8').includes(marker);
    } catch {
      return false;
    }
  });
}

let sleepTags = 0;

/**
 * Sends GET /sleep?ms=MS to the fixture app (test/fixtures/app.ts) with `send`, and
 * resolves once the app has the request (it prints "sleep started TAG"): no guessing
 * with a fixed sleep whether the request got there before a signal or a reload.
 */
export async function sleepInApp<T>(
  server: RunningServer,
  ms: number,
  send: (url: string) => Promise<T>,
): Promise<{ response: Promise<T> }> {
  const tag = `s${++sleepTags}`;
  const from = server.output().length;
  const response = send(`${server.url}sleep?ms=${ms}&tag=${tag}`);
  response.catch(() => {}); // whoever awaits it reports a failure; none is unhandled meanwhile
  await server.waitFor(new RegExp(`sleep started ${tag}\\b`), 10_000, from);
  return { response };
}

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}
