// --user, --group, --allow-root (issue 21): started as root, the master keeps root and
// the workers run as the user and group given. The machine runs the tests as root;
// elsewhere these tests are skipped, saying why.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { fixture, killAll, runCli, startServer, type RunningServer } from '../helpers/server.js';

const root = process.getuid?.() === 0;
const skip = root ? false : 'needs root: the tests create a user, and --user acts only when the server starts as root';

const APP = fixture('identity.ts');
const suffix = `${process.pid}`.slice(-5);
const USER = `tsgiu${suffix}`;
const GROUP = `tsgig${suffix}`;
let uid = 0;
let userGid = 0;
let otherGid = 0;
let dir = '';

interface Identity {
  pid: number;
  uid: number;
  gid: number;
  groups: number[];
  home?: string;
  user?: string;
  logname?: string;
  cwd: string;
  read?: boolean;
  code?: string;
}

const whoami = async (server: RunningServer, query = ''): Promise<Identity> =>
  JSON.parse(await request(`${server.url}${query}`).then((r) => r.body.text())) as Identity;

/** A --config file in the test's directory (which every user may read), holding `config`. */
function configFile(name: string, config: object): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(config));
  return file;
}

const nobodyIds = () => ({ uid: Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' })) });

function statusIds(pid: number): { uid: number; gid: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { uid: Number(/^Uid:\s+(\d+)/m.exec(status)![1]), gid: Number(/^Gid:\s+(\d+)/m.exec(status)![1]) };
}

/** 80 first, then a few other ports below 1024 (spread by this process's pid). */
function privilegedCandidates(): number[] {
  return [80, ...Array.from({ length: 5 }, (_, i) => 900 + ((process.pid + i * 17) % 120))];
}

/** Whether nothing listens on 127.0.0.1:port (this process, as root, can bind it and let go). */
function loopbackPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

before(async () => {
  if (!root) return;
  execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', `/home/${USER}`, '--shell', '/usr/sbin/nologin', USER]);
  execFileSync('groupadd', ['--system', GROUP]);
  uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }));
  userGid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }));
  otherGid = Number(execFileSync('getent', ['group', GROUP], { encoding: 'utf8' }).split(':')[2]);
  dir = await mkdtemp(path.join(tmpdir(), 'tsgi-privileges-'));
  await chmod(dir, 0o777);
});

after(async () => {
  killAll();
  if (!root) return;
  if (dir) await rm(dir, { recursive: true, force: true });
  for (const [cmd, name] of [['userdel', USER], ['groupdel', GROUP]] as const) {
    try {
      execFileSync(cmd, [name], { stdio: 'ignore' });
    } catch {}
  }
});

describe('--user and --group, started as root', { skip, timeout: 180_000 }, () => {
  it('--user: the workers run as the user and its primary group, the master stays root; files the workers write are theirs', async () => {
    const server = await startServer([APP, '--processes', '2', '--user', USER]);
    const file = path.join(dir, 'written');
    const me = await whoami(server, `write?path=${encodeURIComponent(file)}`);
    assert.deepEqual([me.uid, me.gid, me.groups], [uid, userGid, [userGid]]);
    assert.deepEqual(statusIds(me.pid), { uid, gid: userGid });
    assert.deepEqual(statusIds(server.pid), { uid: 0, gid: 0 });
    assert.deepEqual([me.home, me.user, me.logname], [`/home/${USER}`, USER, USER]);
    const stat = statSync(file);
    assert.deepEqual([stat.uid, stat.gid], [uid, userGid]);
    assert.match(server.output(), new RegExp(`^Worker User {8}: ${USER} \\(uid ${uid}\\), group gid ${userGid}$`, 'm'));
    // The master still writes the pid file as root.
    const pidFile = /^PID File {11}: (.+)$/m.exec(server.output())![1]!;
    assert.equal(statSync(pidFile).uid, 0);
  });

  it('--user nobody on a privileged port: the master binds it as root, the workers serve it as nobody', async (t) => {
    const nobody = { uid: Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' })) };
    // Port 80 as the issue says, or another port below 1024 that nothing on loopback holds
    // (other test runs on this machine may hold one between the probe and the server's bind).
    let server: RunningServer | undefined;
    const tried: string[] = [];
    for (const port of privilegedCandidates()) {
      if (!(await loopbackPortFree(port))) {
        tried.push(`${port} in use`);
        continue;
      }
      try {
        server = await startServer([APP, '--processes', '2', '--user', 'nobody'], { port });
        break;
      } catch (err) {
        if (!/EADDRINUSE/.test(String(err))) throw err;
        tried.push(`${port} taken before the server bound it`);
      }
    }
    if (!server) return t.skip(`no port below 1024 free on 127.0.0.1 (${tried.join(', ')})`);
    const port = Number(/^Server URL {9}: http:\/\/127\.0\.0\.1(?::(\d+))?\/$/m.exec(server.output())?.[1] ?? 80);
    assert.ok(port < 1024, server.output());
    // The listening socket belongs to the master (root); the workers, as nobody, could not have bound it.
    const listeners = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
    // Only the pid: the process name ss shows is "node" on Node 20 and 22, "node-MainThread" on later ones.
    assert.match(listeners, new RegExp(`\\("[^"]+",pid=${server.pid},`), listeners);
    assert.deepEqual(statusIds(server.pid), { uid: 0, gid: 0 });
    const seen = new Set<number>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const me = await whoami(server);
      assert.deepEqual([me.uid, me.gid, me.user], [nobody.uid, nobody.gid, 'nobody']);
      assert.deepEqual(statusIds(me.pid), nobody);
      seen.add(me.pid);
    }
    assert.equal(seen.size, 2, 'both workers served');
    assert.match(server.output(), /^Worker User {8}: nobody \(uid \d+\)/m);
  });

  it('--group: the workers run with that group instead', async () => {
    const server = await startServer([APP, '--user', `#${uid}`, '--group', GROUP]);
    const me = await whoami(server);
    assert.deepEqual([me.uid, me.gid], [uid, otherGid]);
    assert.match(server.output(), new RegExp(`Worker User {8}: ${USER} \\(uid ${uid}\\), group ${GROUP} \\(gid ${otherGid}\\)`));
  });

  it('a replacement worker (after a crash, a reload) runs as the user too', async () => {
    const server = await startServer([APP, '--user', USER]);
    const first = await whoami(server);
    process.kill(first.pid, 'SIGKILL');
    await server.waitFor(/died \(signal SIGKILL\)/);
    let next: Identity | undefined;
    for (let i = 0; i < 100 && (!next || next.pid === first.pid); i++) next = await whoami(server).catch(() => undefined);
    assert.ok(next && next.pid !== first.pid);
    assert.equal(next.uid, uid);
    server.signal('SIGHUP');
    await server.waitFor(/Reload complete/);
    assert.equal((await whoami(server)).uid, uid);
  });

  it("tsx's transform cache: used only in a directory the user owns and may write; the app loads and serves either way", async () => {
    for (const kind of ['cannot create', 'another user\'s'] as const) {
      // The worker's TMPDIR: one the user may not write in, or one holding a tsx-<uid> that root made (mode 0777).
      const tmp = await mkdtemp(path.join(tmpdir(), 'tsgi-privileges-tmp-'));
      await chmod(tmp, 0o755);
      const foreign = path.join(tmp, `tsx-${uid}`);
      if (kind === "another user's") {
        mkdirSync(foreign);
        await chmod(foreign, 0o777);
      }
      // Content no cache holds, so tsx compiles it and would write an entry.
      const app = path.join(dir, `transform-cache-${kind.replace(/\W+/g, '-')}.ts`);
      writeFileSync(app, `${readFileSync(APP, 'utf8')}\n// ${kind} ${process.pid} ${Date.now()}\n`);
      try {
        const server = await startServer([app, '--user', USER, '--log-level', 'debug'], { env: { TMPDIR: tmp } });
        assert.equal((await whoami(server)).uid, uid);
        assert.match(server.output(), /tsx's transform cache is off in this worker/);
        if (kind === "another user's") assert.deepEqual(readdirSync(foreign), []);
        server.signal('SIGTERM');
        await server.exited();
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    }
  });

  it('without --user the workers run as root, and the banner warns', async () => {
    const server = await startServer([APP]);
    assert.match(server.output(), /^Worker User {8}: root \(WARNING: the workers run the application as root; give --user NAME\)$/m);
    assert.equal((await whoami(server)).uid, 0);
  });

  it('--user root is refused unless --allow-root is given', async () => {
    const refused = await runCli(['start-server', APP, '--user', 'root']);
    assert.equal(refused.code, 2);
    assert.match(refused.output, /--user root: the workers would run the application as root; give --allow-root/);
    const server = await startServer([APP, '--user', 'root', '--allow-root']);
    assert.equal((await whoami(server)).uid, 0);
    assert.match(server.output(), /Worker User {8}: root \(uid 0\), group gid 0 \(WARNING: the workers run the application as root\)/);
  });

  it('not started as root: --user is ignored with a warning, as in mod_wsgi-express', async () => {
    const server = await startServer([APP, '--user', 'nobody', '--group', 'nogroup'], { uid, gid: userGid, env: { HOME: dir } });
    await server.waitFor(/\[tsgi:warn\].*--user nobody and --group nogroup ignored: the server was not started as root/);
    const me = await whoami(server);
    assert.deepEqual([me.uid, me.gid], [uid, userGid]);
    assert.doesNotMatch(server.output(), /Worker User/);
  });
});

describe("a process group's own user and Unix group (apps: user, unix-group), started as root", { skip, timeout: 180_000 }, () => {
  let server: RunningServer;
  let nobody: { uid: number; gid: number };
  before(async () => {
    if (!root) return;
    nobody = nobodyIds();
    const file = configFile('groups.json', {
      script: APP,
      user: USER,
      'startup-timeout': 90,
      apps: [
        { mount: '/g', script: APP, user: 'nobody' },
        { mount: '/u', script: APP, 'unix-group': GROUP },
      ],
    });
    server = await startServer(['--config', file], { readyTimeoutMs: 90_000 });
  });

  it('each group runs as its own account, HOME, USER and LOGNAME its user\'s; the front as --user; the banner says so', async () => {
    const front = await whoami(server);
    assert.deepEqual([front.uid, front.gid, front.user], [uid, userGid, USER]);
    const g = await whoami(server, 'g/');
    assert.deepEqual([g.uid, g.gid, g.groups, g.user, g.logname], [nobody.uid, nobody.gid, [nobody.gid], 'nobody', 'nobody']);
    assert.deepEqual(statusIds(g.pid), nobody);
    assert.equal(g.cwd, path.dirname(APP));
    const u = await whoami(server, 'u/');
    assert.deepEqual([u.uid, u.gid, u.user], [uid, otherGid, USER]);
    assert.match(server.output(), new RegExp(`/g -> \\S+identity\\.ts \\(tsgi; process group /g: .*; runs as nobody \\(uid ${nobody.uid}\\), group gid ${nobody.gid}\\)`));
    assert.match(server.output(), new RegExp(`/u -> \\S+identity\\.ts \\(tsgi; process group /u: .*; runs as ${USER} \\(uid ${uid}\\), group ${GROUP} \\(gid ${otherGid}\\)\\)`));
  });

  it('files: each group reads what its own user may, and not what only the other may', async () => {
    const mine = path.join(dir, 'front-only');
    const theirs = path.join(dir, 'nobody-only');
    writeFileSync(mine, 'front\n', { mode: 0o600 });
    writeFileSync(theirs, 'nobody\n', { mode: 0o600 });
    chownSync(mine, uid, userGid);
    chownSync(theirs, nobody.uid, nobody.gid);
    const ask = async (prefix: string, file: string) => {
      const me = await whoami(server, `${prefix}read?path=${encodeURIComponent(file)}`);
      return me.read ? 'read' : me.code;
    };
    assert.deepEqual([await ask('', mine), await ask('', theirs)], ['read', 'EACCES']);
    assert.deepEqual([await ask('g/', mine), await ask('g/', theirs)], ['EACCES', 'read']);
    // What the group writes is its user's.
    const written = path.join(dir, 'written-by-g');
    await whoami(server, `g/write?path=${encodeURIComponent(written)}`);
    assert.deepEqual([statSync(written).uid, statSync(written).gid], [nobody.uid, nobody.gid]);
  });

  it("the group's socket belongs to the front's user, mode 0600: the front connects, the group's user cannot", async () => {
    const serverRoot = /^Server Root {8}: (.+)$/m.exec(server.output())![1]!;
    const sockets = execFileSync('find', [serverRoot, '/tmp', '-maxdepth', '1', '-name', `*group-*.sock`, '-uid', String(uid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    assert.ok(sockets.length >= 2, `${serverRoot}: ${sockets.join(' ')}`);
    for (const socket of sockets.filter((s) => s.startsWith(serverRoot))) {
      const st = statSync(socket);
      assert.ok(st.isSocket(), socket);
      assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [uid, userGid, 0o600], socket);
      const tryConnect = `require('node:net').connect(process.argv[1]).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); });`;
      const asNobody = execFileSync(process.execPath, ['-e', tryConnect, socket], { uid: nobody.uid, gid: nobody.gid, encoding: 'utf8', env: {} }).trim();
      assert.equal(asNobody, 'EACCES', socket);
      const asFront = execFileSync(process.execPath, ['-e', tryConnect, socket], { uid, gid: userGid, encoding: 'utf8', env: {} }).trim();
      assert.equal(asFront, 'connected', socket);
    }
  });

  it("the group's output reaches the server's log, and a replacement worker runs as the group's user too", async () => {
    const first = await whoami(server, 'g/log?text=written-as-nobody-7');
    await server.waitFor(/written-as-nobody-7/);
    process.kill(first.pid, 'SIGKILL');
    await server.waitFor(/died \(signal SIGKILL\)/);
    let next: Identity | undefined;
    for (let i = 0; i < 100 && (!next || next.pid === first.pid); i++) next = await whoami(server, 'g/').catch(() => undefined);
    assert.ok(next && next.pid !== first.pid);
    assert.deepEqual([next.uid, next.gid], [nobody.uid, nobody.gid]);
  });

  it('refused at start (exit 2, naming the key): user root without --allow-root, a script the group\'s user cannot read', async () => {
    const asRoot = await runCli(['start-server', '--config', configFile('root.json', { script: APP, apps: [{ mount: '/r', script: APP, user: 'root' }] })]);
    assert.equal(asRoot.code, 2, asRoot.output);
    assert.match(asRoot.output, /root\.json: apps\[0\]: user root: the group's workers would run the application as root; give --allow-root/);
    const hidden = path.join(dir, 'hidden');
    mkdirSync(hidden, { mode: 0o700 });
    const script = path.join(hidden, 'app.ts');
    writeFileSync(script, readFileSync(APP));
    const unreadable = await runCli(['start-server', '--config', configFile('hidden.json', { script: APP, apps: [{ mount: '/h', script, user: 'nobody' }] })]);
    assert.equal(unreadable.code, 2, unreadable.output);
    assert.match(unreadable.output, /hidden\.json: apps\[0\]: script \S+app\.ts: cannot be read by user nobody/);
  });

  it('not started as root: a group with its own user is refused, saying why', async () => {
    const file = configFile('not-root.json', { script: APP, apps: [{ mount: '/g', script: APP, user: 'nobody' }] });
    const run = await runCli(['start-server', '--config', file], { uid, gid: userGid, env: { HOME: dir } });
    assert.equal(run.code, 2, run.output);
    assert.match(run.output, /not-root\.json: apps\[0\]: user nobody: a process group can run as another user or group only when the server is started as root \(it was started as uid \d+\)/);
  });
});

describe('--user and --group: bad input', () => {
  for (const [args, message] of [
    [['--user', 'no-such-user-here'], /--user names no user on this system/],
    [['--group', 'no-such-group-here'], /--group names no group on this system/],
    [['--user', ''], /--user must be a user name/],
  ] as const) {
    it(`${args.join(' ')}: exit 2 naming the flag`, async () => {
      const run = await runCli(['start-server', APP, ...args]);
      assert.equal(run.code, 2, run.output);
      assert.match(run.output, message);
    });
  }

  for (const [entry, message] of [
    [{ user: 'no-such-user-here' }, /bad\.json: apps\[0\]: user names no user on this system/],
    [{ 'unix-group': 'no-such-group-here' }, /bad\.json: apps\[0\]: unix-group names no group on this system/],
  ] as const) {
    it(`an apps entry's ${Object.keys(entry)[0]} that names nothing: exit 2 naming the key`, async () => {
      const bad = await mkdtemp(path.join(tmpdir(), 'tsgi-privileges-bad-'));
      try {
        writeFileSync(path.join(bad, 'bad.json'), JSON.stringify({ script: APP, apps: [{ mount: '/x', script: APP, ...entry }] }));
        const run = await runCli(['start-server', '--config', path.join(bad, 'bad.json')]);
        assert.equal(run.code, 2, run.output);
        assert.match(run.output, message);
      } finally {
        await rm(bad, { recursive: true, force: true });
      }
    });
  }
});
