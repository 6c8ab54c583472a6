/**
 * Command-line clients for TLS and HTTP/2 tests (curl, openssl s_client,
 * h2load), each bounded in time, and their results as plain values.
 */
import { execFile, spawn } from 'node:child_process';

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (killed after `timeoutMs`); never rejects. */
export function run(command: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // the command may exit before reading it all
    child.stdin.end(opts.input ?? '');
  });
}

/** curl with a deadline; `-sS` so errors come on stderr and nothing else does. */
export function curl(args: string[], timeoutMs = 15_000): Promise<CommandResult> {
  return run('curl', ['-sS', '--max-time', String(Math.ceil(timeoutMs / 1000)), ...args], { timeoutMs: timeoutMs + 2000 });
}

/**
 * `openssl s_client` against 127.0.0.1:PORT. stdin is `input` and then closes,
 * which ends the session (-ign_eof keeps it open until the server answers).
 */
export function sClient(port: number, args: string[], input = ''): Promise<CommandResult> {
  return run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args], { input, timeoutMs: 15_000 });
}

/** execFile as a promise of its output (throws on a non-zero exit). */
export function output(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}
