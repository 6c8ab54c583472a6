// setup-server, start-server --setup-only and the control script they write
// (issue 21): every verb of tsgi-expressctl against a real server it starts in
// the background, the systemd unit checked by systemd-analyze, and the
// deployment templates (Dockerfile, Kubernetes) checked as far as this machine
// allows: their command lines accepted by `tsgi-express configtest`, the YAML
// parsed. (No Docker engine here: the image itself is never built.)
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { parseAllDocuments } from 'yaml';
import { BIN, fixture, killAll, pidAlive, ROOT, runCli } from '../helpers/server.js';

const APP = fixture('supervised-app.ts');
let dir = '';
/** Servers the control script started (in sessions of their own): stopped here whatever happens. */
const pidFiles = new Set<string>();
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tsgi-ctl-'));
});
after(async () => {
  for (const file of pidFiles) {
    const pid = existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0;
    if (pid > 0) {
      try {
        process.kill(-pid, 'SIGKILL'); // setsid made it a process group leader: its workers go too
      } catch {
        // gone already
      }
    }
  }
  killAll();
  await rm(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs the control script; resolves with its exit code and output (bounded). */
function ctl(script: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(script, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function get(url: string) {
  const res = await request(url, { reset: true, headersTimeout: 10_000, bodyTimeout: 10_000 });
  return { status: res.statusCode, body: await res.body.text() };
}

function autoField(text: string, name: string): string | undefined {
  return new RegExp(`^${name}: (.*)$`, 'm').exec(text)?.[1];
}

async function until(what: string, ok: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function pidOf(root: string): number {
  return Number(readFileSync(path.join(root, 'tsgi-express.pid'), 'utf8'));
}

describe('setup-server and tsgi-expressctl', { timeout: 240_000 }, () => {
  it('setup-server writes the configuration, an executable control script and a systemd unit; --setup-only too', async () => {
    const port = await freePort();
    const root = path.join(dir, 'setup');
    const { code, output } = await runCli(['setup-server', APP, '--port', String(port), '--host', '127.0.0.1', '--server-root', root, '--processes', '3', '--drain-delay', '2']);
    assert.equal(code, 0, output);
    assert.match(output, new RegExp(`Control Script {5}: ${root}/tsgi-expressctl`));
    assert.equal(statSync(path.join(root, 'tsgi-expressctl')).mode & 0o777, 0o755);
    const config = JSON.parse(readFileSync(path.join(root, 'tsgi-express.json'), 'utf8'));
    assert.equal(config.port, port);
    assert.equal(config.processes, 3);
    assert.equal(config.drainDelay, 2);
    assert.equal(config.scriptPath, APP);
    assert.equal(config.serverRoot, root);
    // Nothing started: nobody listens on the port.
    await assert.rejects(get(`http://127.0.0.1:${port}/`), /ECONNREFUSED/);
    const unit = readFileSync(path.join(root, 'tsgi-express.service'), 'utf8');
    assert.match(unit, new RegExp(`^ExecStart=${root}/tsgi-expressctl foreground$`, 'm'));
    assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    assert.match(unit, /^KillSignal=SIGTERM$/m);
    assert.match(unit, /^Restart=on-failure$/m);
    // --drain-delay 2 + --shutdown-timeout 5 (default) + the script's margin, then systemd's.
    assert.match(unit, /^TimeoutStopSec=22$/m);
    // Set up by root without --user: no User= in force, the choice explained.
    if (process.getuid?.() === 0) assert.match(unit, /^# --user NAME \(the master keeps root and binds the ports; the workers run as NAME\), or set$/m);
    assert.doesNotMatch(unit, /^User=root$/m);

    const again = path.join(dir, 'setup-only');
    const only = await runCli(['start-server', APP, '--port', String(port), '--host', '127.0.0.1', '--server-root', again, '--setup-only']);
    assert.equal(only.code, 0, only.output);
    assert.doesNotMatch(only.output, /Ready:/);
    assert.ok(existsSync(path.join(again, 'tsgi-expressctl')));
    // The control script starts the server without --setup-only.
    const execLine = readFileSync(path.join(again, 'tsgi-expressctl'), 'utf8').split('\n').find((l) => l.includes('exec ${DETACH'));
    assert.ok(execLine?.includes(`--server-root ${again}`), execLine);
    assert.doesNotMatch(execLine!, /--setup-only/);
    // With --user, set up by root: the unit starts the master as root (no User=), which binds the ports.
    if (process.getuid?.() === 0) {
      const withUser = path.join(dir, 'setup-user');
      assert.equal((await runCli(['setup-server', APP, '--port', String(port), '--server-root', withUser, '--user', 'nobody'])).code, 0);
      const userUnit = readFileSync(path.join(withUser, 'tsgi-express.service'), 'utf8');
      assert.doesNotMatch(userUnit, /^User=/m);
      assert.match(userUnit, /^# No User=: the master stays root to bind the ports; its workers run as --user nobody\.$/m);
    }
  });

  it('the systemd unit passes systemd-analyze verify', { skip: existsSync('/usr/bin/systemd-analyze') ? false : 'no systemd-analyze' }, async () => {
    const port = await freePort();
    const root = path.join(dir, 'systemd');
    assert.equal((await runCli(['setup-server', APP, '--port', String(port), '--server-root', root])).code, 0);
    const unit = path.join(dir, 'tsgi-express-test.service'); // verify wants a unit name it can load
    await copyFile(path.join(root, 'tsgi-express.service'), unit);
    const check = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(check.status, 0, check.stderr);
    assert.equal(check.stderr.trim(), '', check.stderr);
  });

  it('every verb: configtest, start, status, graceful, reopen-logs, restart, stop', async () => {
    const port = await freePort();
    const root = path.join(dir, 'verbs');
    const app = path.join(dir, 'verbs-app.ts');
    await copyFile(APP, app);
    const setup = await runCli(['setup-server', app, '--port', String(port), '--host', '127.0.0.1', '--server-root', root, '--processes', '2', '--server-status']);
    assert.equal(setup.code, 0, setup.output);
    const script = path.join(root, 'tsgi-expressctl');
    pidFiles.add(path.join(root, 'tsgi-express.pid'));

    const test = await ctl(script, 'configtest');
    assert.equal(test.code, 0, test.stderr);
    assert.match(test.stdout, /Configuration OK/);
    assert.equal((await ctl(script, 'status')).code, 3, 'not running yet');

    const start = await ctl(script, 'start');
    assert.equal(start.code, 0, start.stderr);
    assert.match(start.stdout, new RegExp(`Ready: 2 workers serving http://127.0.0.1:${port}/`));
    const pid = pidOf(root);
    assert.match((await get(`http://127.0.0.1:${port}/`)).body, /^hello \d+$/);
    assert.match((await ctl(script, 'start')).stdout, new RegExp(`\\(pid ${pid}\\) already running`));

    const status = await ctl(script, 'status');
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`tsgi-express \\(pid ${pid}\\) running`));
    assert.equal(autoField(status.stdout, 'Generation'), '1');
    assert.ok(Number(autoField(status.stdout, 'Total Accesses')) >= 1, status.stdout);
    assert.equal(status.stdout.split('\n').filter((l) => l.startsWith('Worker: ')).length, 2);

    const graceful = await ctl(script, 'graceful');
    assert.equal(graceful.code, 0, graceful.stderr);
    await until('generation 2', async () => autoField((await ctl(script, 'status')).stdout, 'Generation') === '2');
    assert.equal(pidOf(root), pid, 'a graceful reload keeps the master');

    const reopen = await ctl(script, 'reopen-logs');
    assert.equal(reopen.code, 0, reopen.stderr);
    await until('the master to reopen its logs', async () => /SIGUSR1 received: reopening the log files/.test(readFileSync(path.join(root, 'output.log'), 'utf8')));
    assert.ok(pidAlive(pid));

    const restart = await ctl(script, 'restart');
    assert.equal(restart.code, 0, restart.stderr);
    assert.match(restart.stdout, new RegExp(`\\(pid ${pid}\\) stopped[\\s\\S]*Ready: 2 workers`));
    const second = pidOf(root);
    assert.notEqual(second, pid);
    assert.ok(!pidAlive(pid));
    assert.equal((await get(`http://127.0.0.1:${port}/`)).status, 200);

    const stop = await ctl(script, 'stop');
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, new RegExp(`\\(pid ${second}\\) stopped`));
    assert.ok(!pidAlive(second));
    await assert.rejects(get(`http://127.0.0.1:${port}/`), /ECONNREFUSED/);
    assert.equal((await ctl(script, 'status')).code, 3);
    assert.match((await ctl(script, 'stop')).stdout, /not running/);

    // configtest fails, naming what is wrong, once the setup no longer holds.
    await rm(app);
    const broken = await ctl(script, 'configtest');
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /verbs-app\.ts: no such file/);
    const failed = await ctl(script, 'start');
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /did not start/);
    assert.equal((await ctl(script, 'bogus')).code, 2);
  });

  it('status without --server-status says it runs; bad input exits 2 naming the flag', async () => {
    const port = await freePort();
    const root = path.join(dir, 'plain');
    assert.equal((await runCli(['setup-server', APP, '--port', String(port), '--host', '127.0.0.1', '--server-root', root])).code, 0);
    const script = path.join(root, 'tsgi-expressctl');
    pidFiles.add(path.join(root, 'tsgi-express.pid'));
    assert.equal((await ctl(script, 'start')).code, 0);
    const status = await ctl(script, 'status');
    assert.equal(status.code, 0);
    assert.match(status.stdout, /running; set it up with --server-status/);
    assert.equal((await ctl(script, 'stop')).code, 0);

    const cases: [string[], RegExp][] = [
      [['setup-server', APP, '--port', '0'], /--port 0 picks another free port at each start: setup-server needs a fixed --port/],
      [['setup-server', APP, '--port', '8000', '--server-root', path.join(APP, 'root')], /--server-root \S+supervised-app\.ts\/root: cannot write the server's files there \(ENOTDIR/],
      [['setup-server', APP, '--processes', '0'], /--processes must be at least 1/],
      [['configtest', APP, '--drain-delay', 'soon'], /--drain-delay/],
    ];
    for (const [args, re] of cases) {
      const { code, output } = await runCli(args);
      assert.equal(code, 2, `${args.join(' ')}: ${output}`);
      assert.match(output, re);
    }
    // start-server --setup-only refuses --port 0 as setup-server does: nothing written, nothing started.
    const unwritten = path.join(dir, 'setup-only-port-0');
    const setupOnly = await runCli(['start-server', APP, '--setup-only', '--port', '0', '--server-root', unwritten]);
    assert.equal(setupOnly.code, 2, setupOnly.output);
    assert.match(setupOnly.output, /--port 0 picks another free port at each start: start-server --setup-only needs a fixed --port/);
    assert.doesNotMatch(setupOnly.output, /Ready:|Server URL/);
    assert.equal(existsSync(unwritten), false, 'the server root was created');
  });

  it('the Dockerfile and the Kubernetes Deployment: their command lines pass configtest; probes and stop settings agree', async () => {
    // No Docker engine on this machine: the image is not built. What can be checked is.
    const dockerfile = readFileSync(path.join(ROOT, 'templates/docker/Dockerfile'), 'utf8');
    const instructions = dockerfile.replace(/\\\n/g, ' ').split('\n').filter((l) => /^[A-Z]+ /.test(l));
    const from = instructions.filter((l) => l.startsWith('FROM '));
    assert.equal(from.length, 2, 'multi-stage');
    assert.match(from[0]!, / AS build$/);
    assert.ok(instructions.some((l) => /^RUN npm ci --omit=dev/.test(l)));
    assert.ok(instructions.some((l) => l === 'COPY --from=build /app ./'));
    const user = instructions.filter((l) => l.startsWith('USER '));
    assert.deepEqual(user, ['USER node']);
    const cmd = JSON.parse(instructions.find((l) => l.startsWith('CMD '))!.slice(4)) as string[];
    const health = instructions.find((l) => l.startsWith('HEALTHCHECK '))!;
    assert.match(health, /http:\/\/127\.0\.0\.1:8000\/healthz/);
    assert.equal(cmd[cmd.indexOf('--health-check-path') + 1], '/healthz');
    assert.equal(cmd[cmd.indexOf('--port') + 1], '8000');
    assert.equal(cmd[0], 'node_modules/.bin/tsgi-express');

    // The same command line, from a directory holding app.ts as the image's /app does.
    const appDir = path.join(dir, 'image');
    await mkdir(appDir);
    await copyFile(APP, path.join(appDir, 'app.ts'));
    const dockerCheck = await runCli(['configtest', ...cmd.slice(2)], { cwd: appDir });
    assert.equal(dockerCheck.code, 0, dockerCheck.output);

    const docs = parseAllDocuments(readFileSync(path.join(ROOT, 'templates/kubernetes/deployment.yaml'), 'utf8'));
    for (const d of docs) assert.deepEqual(d.errors, []);
    const [deployment, service] = docs.map((d) => d.toJS());
    assert.equal(deployment.kind, 'Deployment');
    assert.equal(service.kind, 'Service');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const args = container.args as string[];
    const flag = (name: string) => args[args.indexOf(name) + 1]!;
    assert.equal(container.readinessProbe.httpGet.path, flag('--health-check-path'));
    assert.equal(container.livenessProbe.httpGet.path, flag('--health-check-path'));
    const httpPort = container.ports.find((p: { name: string }) => p.name === 'http').containerPort;
    assert.equal(String(httpPort), flag('--port'));
    assert.deepEqual(container.lifecycle.preStop.exec.command.slice(0, 1), ['sleep']);
    const preStop = Number(container.lifecycle.preStop.exec.command[1]);
    assert.ok(pod.terminationGracePeriodSeconds > preStop + Number(flag('--drain-delay')) + Number(flag('--shutdown-timeout')));
    assert.equal(pod.securityContext.runAsNonRoot, true);
    const k8sCheck = await runCli(['configtest', ...args.slice(2)], { cwd: appDir });
    assert.equal(k8sCheck.code, 0, k8sCheck.output);
    assert.ok(existsSync(BIN));
  });
});
