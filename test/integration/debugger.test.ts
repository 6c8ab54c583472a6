// --enable-debugger and --debugger-startup through a real WebSocket client that
// speaks the Chrome DevTools Protocol, as Chrome DevTools and VS Code do: attach,
// get the pause at the application's throw (in the call, its body, its close(),
// for each interface), resume, and the 500 arrives; an exception the application
// catches does not pause; without a debugger the request is answered as usual.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { Cdp } from '../helpers/cdp.js';
import { BIN, killAll, runCli, startServer, type RunningServer } from '../helpers/server.js';

const TSGI_APP = `export function application(environ: any, startResponse: any) {
  const path = environ.PATH_INFO;
  if (path === '/boom') {
    throw new Error('boom in the call');
  }
  if (path === '/later') return later();
  if (path === '/caught') {
    try {
      JSON.parse('{ not json');
    } catch {
      // the application handles this one itself
    }
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return ['caught it'];
  }
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  if (path === '/body') return brokenBody();
  if (path === '/close') return closingBody();
  return ['fine'];
}

async function later(): Promise<string[]> {
  await new Promise((resolve) => setTimeout(resolve, 5));
  throw new Error('boom after an await');
}

function* brokenBody(): Generator<string> {
  throw new Error('boom in the body');
}

function closingBody() {
  return {
    *[Symbol.iterator]() {
      yield 'closing';
    },
    close() {
      throw new Error('boom in close');
    },
  };
}
`;

const FETCH_APP = `export default {
  async fetch(request: Request): Promise<Response> {
    if (new URL(request.url).pathname === '/boom') {
      await null;
      throw new Error('fetch boom');
    }
    return new Response('fine');
  },
};
`;

const NODE_APP = `import type { IncomingMessage, ServerResponse } from 'node:http';
export default function handler(req: IncomingMessage, res: ServerResponse) {
  if (req.url === '/boom') throw new Error('node boom');
  res.end('fine');
}
`;

let dir = '';
const app = (name: string) => path.join(dir, name);

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tsgi-debugger-'));
  await writeFile(app('app.ts'), TSGI_APP);
  await writeFile(app('fetch-app.ts'), FETCH_APP);
  await writeFile(app('node-app.ts'), NODE_APP);
});
const spawned: ChildProcess[] = [];
after(async () => {
  for (const child of spawned) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {}
  }
  killAll();
  await rm(dir, { recursive: true, force: true });
});

function inspectorUrl(server: RunningServer): string {
  const url = /^Debugger {11}: (ws:\/\/\S+)$/m.exec(server.output())?.[1];
  assert.ok(url, `no Debugger line in the banner:\n${server.output()}`);
  return url;
}

/** Attaches as DevTools and VS Code do; their default is not to pause on exceptions at all. */
async function attach(url: string): Promise<Cdp> {
  const cdp = await Cdp.connect(url);
  await cdp.send('Runtime.enable');
  await cdp.send('Debugger.enable');
  await cdp.send('Debugger.setPauseOnExceptions', { state: 'none' });
  await cdp.send('Runtime.runIfWaitingForDebugger');
  return cdp;
}

async function get(url: string) {
  const res = await request(url);
  return { status: res.statusCode, body: await res.body.text() };
}

/** Sends the request, waits for the pause, checks the client is still waiting, resumes; the pause and the response. */
async function pausedRequest(cdp: Cdp, url: string, opts: { answeredBeforeResume?: boolean } = {}) {
  let answered = false;
  const response = get(url).then((r) => ((answered = true), r));
  const paused = (await cdp.next('Debugger.paused')).params;
  if (!opts.answeredBeforeResume) assert.equal(answered, false, 'the response came before the debugger resumed');
  await cdp.send('Debugger.resume');
  return { paused, response: await response };
}

/** The script a call frame is in: its URL came with Debugger.scriptParsed (callFrame.url is deprecated, and empty). */
function scriptUrl(cdp: Cdp, scriptId: string): string {
  return cdp.seen('Debugger.scriptParsed').find((e) => e.params.scriptId === scriptId)?.params.url ?? '';
}

function assertPausedAt(cdp: Cdp, paused: any, file: string, fn: string, message: string): void {
  assert.ok(['exception', 'promiseRejection'].includes(paused.reason), paused.reason);
  assert.match(paused.data.description, new RegExp(message));
  const top = paused.callFrames[0];
  assert.equal(top.functionName, fn);
  const url = scriptUrl(cdp, top.location.scriptId);
  assert.ok(url.endsWith(file), url);
}

describe('--enable-debugger', { timeout: 120_000 }, () => {
  it('TSGI: pauses at the throw in the call, after an await, in the body and in close(); caught exceptions do not pause', async () => {
    const server = await startServer([app('app.ts'), '--enable-debugger', '--debugger-port', '0']);
    assert.match(server.output(), /^DevTools URL {7}: devtools:\/\/devtools\/bundled\/js_app\.html\?.*ws=127\.0\.0\.1:\d+\//m);
    const cdp = await attach(inspectorUrl(server));
    try {
      // Caught by the application: no pause (it would hang this request until a resume).
      assert.deepEqual(await get(`${server.url}caught`), { status: 200, body: 'caught it' });

      const call = await pausedRequest(cdp, `${server.url}boom`);
      assertPausedAt(cdp, call.paused, 'app.ts', 'application', 'boom in the call');
      assert.equal(call.response.status, 500);
      assert.match(call.response.body, /boom in the call/);

      const later = await pausedRequest(cdp, `${server.url}later`);
      assertPausedAt(cdp, later.paused, 'app.ts', 'later', 'boom after an await');
      assert.equal(later.response.status, 500);

      const body = await pausedRequest(cdp, `${server.url}body`);
      assertPausedAt(cdp, body.paused, 'app.ts', 'brokenBody', 'boom in the body');
      assert.equal(body.response.status, 500);

      // close() runs once the response is complete: the client may have it already.
      const close = await pausedRequest(cdp, `${server.url}close`, { answeredBeforeResume: true });
      assertPausedAt(cdp, close.paused, 'app.ts', 'close', 'boom in close');
      assert.deepEqual(close.response, { status: 200, body: 'closing' });

      assert.deepEqual(await get(`${server.url}caught`), { status: 200, body: 'caught it' });
      assert.equal(cdp.seen('Debugger.paused').length, 0);
    } finally {
      cdp.close();
    }
  });

  it('fetch and node interfaces: pauses at the throw in the call', async () => {
    for (const [file, fn, message] of [['fetch-app.ts', 'fetch', 'fetch boom'], ['node-app.ts', 'handler', 'node boom']]) {
      const server = await startServer([app(file!), '--enable-debugger', '--debugger-port', '0']);
      const cdp = await attach(inspectorUrl(server));
      try {
        const { paused, response } = await pausedRequest(cdp, `${server.url}boom`);
        assertPausedAt(cdp, paused, file!, fn!, message!);
        assert.equal(response.status, 500);
        assert.equal((await get(`${server.url}ok`)).body, 'fine');
      } finally {
        cdp.close();
      }
    }
  });

  it('no debugger attached: the request is answered 500 as usual', async () => {
    const server = await startServer([app('app.ts'), '--enable-debugger', '--debugger-port', '0']);
    const res = await get(`${server.url}boom`);
    assert.equal(res.status, 500);
    assert.match(res.body, /boom in the call/);
    assert.equal((await get(`${server.url}later`)).status, 500);
    assert.equal((await get(`${server.url}ok`)).body, 'fine');
  });

  it('--debugger-startup waits for a debugger and pauses before the application is loaded', async () => {
    const child = spawn(process.execPath, [BIN, 'start-server', app('app.ts'), '--host', '127.0.0.1', '--port', '0',
      '--enable-debugger', '--debugger-startup', '--debugger-port', '0'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    spawned.push(child);
    let out = '';
    const changed = new Set<() => void>();
    for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (d) => ((out += d), changed.forEach((f) => f())));
    const waitOut = (re: RegExp) => new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}:\n${out}`)), 30_000);
      const check = () => {
        const m = re.exec(out);
        if (m) (clearTimeout(timer), changed.delete(check), resolve(m));
      };
      changed.add(check);
      check();
    });
    const url = (await waitOut(/waiting for a debugger to attach to (ws:\/\/\S+)/))[1]!;
    const cdp = await Cdp.connect(url);
    try {
      await cdp.send('Debugger.enable');
      await cdp.send('Runtime.runIfWaitingForDebugger');
      const paused = (await cdp.next('Debugger.paused')).params;
      assert.equal(paused.reason, 'other'); // the debugger statement
      assert.doesNotMatch(out, /Ready:/);
      const appScripts = cdp.seen('Debugger.scriptParsed').filter((e) => e.params.url.endsWith('app.ts'));
      assert.deepEqual(appScripts, [], 'the application was loaded before the pause');
      await cdp.send('Debugger.resume');
      const serving = (await waitOut(/Ready: 1 worker serving (http:\/\/\S+)/))[1]!;
      await cdp.next('Debugger.scriptParsed', (p) => p.url.endsWith('app.ts'));
      assert.equal((await get(`${serving}ok`)).body, 'fine');
    } finally {
      cdp.close();
    }
  });
});

describe('debugging options: bad input', { timeout: 60_000 }, () => {
  it('--debugger-startup without --enable-debugger', async () => {
    const { code, output } = await runCli(['start-server', app('app.ts'), '--debugger-startup']);
    assert.equal(code, 2);
    assert.match(output, /--debugger-startup needs --enable-debugger/);
  });

  it('a debugger port in use', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const { code, output } = await runCli(['start-server', app('app.ts'), '--port', '0', '--host', '127.0.0.1',
        '--enable-debugger', '--debugger-port', String(port)]);
      assert.equal(code, 2, output);
      assert.match(output, new RegExp(`--debugger-port ${port}: 127\\.0\\.0\\.1:${port} is in use`));
    } finally {
      blocker.close();
    }
  });

  it('a directory that cannot be written', async () => {
    const file = app('not-a-directory');
    await writeFile(file, '');
    for (const [tool, flag] of [['profiler', 'profiler-directory'], ['coverage', 'coverage-directory'], ['recorder', 'recorder-directory']]) {
      const { code, output } = await runCli(['start-server', app('app.ts'), '--port', '0', '--host', '127.0.0.1',
        `--enable-${tool}`, `--${flag}`, path.join(file, 'sub')]);
      assert.equal(code, 2, output);
      assert.match(output, new RegExp(`--${flag} \\S+not-a-directory/sub: cannot write there \\(ENOTDIR\\)`));
    }
  });
});
