// The command line through the real compiled CLI: help, version, bad flags and
// applications that cannot start all exit before anything is served.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { fixture, killAll, ROOT, runCli } from '../helpers/server.js';

after(killAll);

describe('tsgi-express CLI', () => {
  it('--version prints the package version', async () => {
    const { code, output } = await runCli(['--version']);
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    assert.equal(code, 0);
    assert.equal(output.trim(), version);
  });

  it('start-server --help groups options by section with defaults', async () => {
    const { code, output } = await runCli(['start-server', '--help']);
    assert.equal(code, 0);
    for (const heading of ['Application:', 'Network:', 'Processes and threads:', 'Timeouts:', 'Logging:']) {
      assert.ok(output.includes(heading), `missing section ${heading}`);
    }
    assert.match(output, /--threads\s.*\[default: 100\]/);
    assert.match(output, /--port\s.*\[default: 8000\]/);
  });

  it('--help lists the start-server command', async () => {
    const { code, output } = await runCli(['--help']);
    assert.equal(code, 0);
    assert.match(output, /start-server \[script\]/);
  });

  const bad: [string[], RegExp][] = [
    [['--processes', '0'], /^tsgi-express: error: --processes must be at least 1 \(got "0"\)$/],
    [['--port=70000'], /^tsgi-express: error: --port must be at most 65535 \(got "70000"\)$/],
    [['--threads', 'abc'], /^tsgi-express: error: --threads must be an integer \(got "abc"\)$/],
    [['--graceful-timeout', '-2'], /--graceful-timeout is in seconds and must be at least 0/],
    [['--no-such-flag', '1'], /^tsgi-express: error: Unknown arguments?: .*no-such-flag/],
    [['--setenv', 'ONLY_NAME'], /^tsgi-express: error: Not enough arguments following: setenv$/],
  ];
  for (const [args, expected] of bad) {
    it(`rejects ${args.join(' ')} with one line and exit code 2`, async () => {
      const { code, output } = await runCli(['start-server', fixture('app.ts'), '--port', '0', ...args]);
      assert.equal(code, 2);
      const lines = output.trim().split('\n');
      assert.equal(lines.length, 1, output);
      assert.match(lines[0]!, expected);
    });
  }

  it('rejects a missing script, naming the file', async () => {
    const { code, output } = await runCli(['start-server', 'missing-app.ts', '--port', '0']);
    assert.equal(code, 2);
    assert.match(output.trim(), /^tsgi-express: error: application script .*missing-app\.ts: no such file$/);
  });

  it('exits 3 with the app error and its .ts location when the app cannot load', async () => {
    const { code, output } = await runCli(['start-server', fixture('throws-at-import.ts'), '--port', '0', '--host', '127.0.0.1']);
    assert.equal(code, 3);
    assert.match(output, /the application could not be loaded/);
    assert.match(output, /this module refuses to load/);
    assert.match(output, /throws-at-import\.ts:5:\d+/); // source-mapped .ts line
    assert.doesNotMatch(output, /Ready:/);
  });

  it('exits 4 saying so when the port is already in use', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const { code, output } = await runCli(['start-server', fixture('app.ts'), '--port', String(port), '--host', '127.0.0.1']);
      assert.equal(code, 4, output);
      assert.match(output, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`));
      assert.doesNotMatch(output, /could not be loaded/);
    } finally {
      blocker.close();
    }
  });

  it('with one worker, exits 4 before loading the app when --host cannot be bound', async () => {
    // 192.0.2.1 (TEST-NET-1) is never an address of this machine. The app would fail
    // to load (exit 3): exit 4 shows the master bound the socket before forking.
    const args = ['start-server', fixture('throws-at-import.ts'), '--port', '0', '--host', '192.0.2.1', '--processes', '1'];
    const { code, output } = await runCli(args);
    assert.equal(code, 4, output);
    assert.match(output, /cannot listen on 192\.0\.2\.1:0 .*\n.*EADDRNOTAVAIL/);
    assert.doesNotMatch(output, /could not be loaded/);
  });

  it('exits 3 naming the missing export and what the module does export', async () => {
    const { code, output } = await runCli(['start-server', fixture('no-export.ts'), '--port', '0', '--host', '127.0.0.1', '--interface', 'tsgi']);
    assert.equal(code, 3);
    assert.match(output, /no-export\.ts exports no application for --interface tsgi\. It exports: answer \(number\)\./);
  });

  it('the parse process hands the Config over on fd 3, and ends quietly if nobody reads it', async () => {
    const parse = async (destroy: boolean) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'dist/cli/parse-process.js'), 'start-server', fixture('app.ts')], {
        stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      });
      // Hang guard, and killed by pid whatever happens.
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      try {
        const [stderr, fd3] = [child.stdio[2]!, child.stdio[3] as Readable];
        if (destroy) fd3.destroy();
        let err = '';
        let out = '';
        stderr.on('data', (d) => (err += d));
        if (!destroy) fd3.on('data', (d) => (out += d));
        const [code] = await once(child, 'close');
        return { code, err, out };
      } finally {
        clearTimeout(timer);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    };
    const ok = await parse(false);
    assert.equal(ok.code, 0);
    assert.equal(JSON.parse(ok.out).scriptPath, fixture('app.ts'));
    const orphan = await parse(true);
    assert.equal(orphan.code, 1);
    assert.equal(orphan.err, '', 'no EPIPE stack trace');
  });
});
