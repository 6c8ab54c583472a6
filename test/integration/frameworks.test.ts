// Every framework app in docs/frameworks.md, as the page shows it, served on
// --processes 2 under its mount point. The page marks each file with a comment:
//   <!-- test-app: {"name", "file", "mount", "get": [[path, status, text]], "ws", "socketio", "build", "tsEntryError", "filesFrom"} -->
//   <!-- test-file: {"name", "file"} -->   (more files of the same app)
// followed by the fenced block holding the file.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { io } from 'socket.io-client';
import { request } from 'undici';
import WebSocket from 'ws';
import { killAll, ROOT, runCli, startServer } from '../helpers/server.js';

interface AppSpec {
  name: string;
  file: string;
  mount: string;
  args?: string[];
  get?: [string, number, string][];
  post?: [string, string, number, string][];
  ws?: [string, string, string];
  socketio?: [string, string, string];
  /** Commands to build the app before serving: [bin in node_modules/.bin, ...args], run in the app's directory. */
  build?: string[][];
  /** Environment for the build and the server. */
  env?: Record<string, string>;
  /** The file the block holds, when it is not the one served (a .ts source of a built app). */
  source?: string;
  /** A .ts entry that must be refused (decorator metadata). */
  tsEntryError?: string;
  /** The interface the banner must name (`node`, `node (captured listen)`, `fetch`). */
  interface?: string;
  /** Another app whose files this one shares (its own files replace theirs). */
  filesFrom?: string;
}

interface App {
  spec?: AppSpec;
  files: Map<string, string>;
}

/** The apps the page marks, with their files. */
export function appsIn(markdown: string): Map<string, App> {
  const apps = new Map<string, App>();
  const marker = /<!-- test-(app|file): (\{.*?\}) -->\s*\n```[a-z]*\n([\s\S]*?)\n```/g;
  for (const m of markdown.matchAll(marker)) {
    const meta = JSON.parse(m[2]!) as AppSpec;
    let app = apps.get(meta.name);
    if (!app) apps.set(meta.name, (app = { files: new Map() }));
    if (m[1] === 'app') app.spec = meta;
    app.files.set(meta.source ?? meta.file, m[3]! + '\n');
  }
  return apps;
}

const WORK = path.join(ROOT, 'test/.frameworks');
after(() => {
  killAll();
  rmSync(WORK, { recursive: true, force: true });
});

function materialise(name: string, app: App): string {
  const dir = path.join(WORK, name.replace(/[^\w.-]/g, '_'));
  rmSync(dir, { recursive: true, force: true });
  // A project of its own, without "type": "module" (the repository's package.json has it)
  // unless the page gives its package.json: ESM syntax and top-level await in its .js and
  // .ts files load as Node loads them.
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), '{ "private": true }\n');
  const shared = app.spec?.filesFrom ? apps.get(app.spec.filesFrom)?.files : undefined;
  if (app.spec?.filesFrom) assert.ok(shared, `${name}: no app ${app.spec.filesFrom} to take files from`);
  for (const [file, text] of new Map([...(shared ?? []), ...app.files])) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

async function checkWebSocket(base: string, [urlPath, send, expect]: [string, string, string]) {
  const ws = new WebSocket(base.replace(/^http/, 'ws') + urlPath.replace(/^\//, ''));
  ws.on('error', () => {});
  await once(ws, 'open');
  ws.send(send);
  const [data] = await once(ws, 'message');
  assert.equal(String(data), expect);
  ws.close();
}

async function checkSocketIo(base: string, mount: string, [event, send, expect]: [string, string, string]) {
  const socket = io(base, { path: `${mount.replace(/\/$/, '')}/socket.io`, transports: ['websocket'], reconnection: false });
  try {
    await new Promise((resolve) => socket.once('connect', () => resolve(undefined)));
    const reply = new Promise((resolve) => socket.once(event, (...args: unknown[]) => resolve(args)));
    socket.emit(event, send);
    assert.deepEqual(await reply, [expect]);
  } finally {
    socket.close();
  }
}

const markdown = ['frameworks.md', 'tsgi.md'].map((doc) => readFileSync(path.join(ROOT, 'docs', doc), 'utf8')).join('\n');
const apps = appsIn(markdown);

describe('docs/frameworks.md and docs/tsgi.md: every complete app as the page shows it', { timeout: 240_000 }, () => {
  it('marks an app for each framework section', () => {
    const names = ['express', 'fastify', 'fastify-export', 'nest', 'nest-factory', 'koa', 'hono', 'h3', 'elysia', 'ws', 'socket.io', 'bun-ws', 'tsgi-example'];
    for (const name of [...names, 'promised-app', 'named-handler']) {
      assert.ok(apps.get(name)?.spec, `no test-app marker for ${name}`);
    }
  });

  for (const [name, app] of apps) {
    const spec = app.spec;
    if (!spec) continue;
    it(`${name}: ${spec.file} on --processes 2 under ${spec.mount}`, async () => {
      const dir = materialise(name, app);
      if (spec.tsEntryError) {
        const { code, output } = await runCli(['start-server', path.join(dir, spec.tsEntryError), '--port', '0', '--host', '127.0.0.1']);
        assert.equal(code, 3);
        assert.match(output, /sets "emitDecoratorMetadata", which tsgi-express cannot honour.*Build the project with tsc/s);
      }
      const env = { ...process.env, ...spec.env };
      for (const [bin, ...args] of spec.build ?? []) {
        execFileSync(path.join(ROOT, 'node_modules/.bin', bin!), args, { cwd: dir, env, stdio: 'pipe' });
      }
      // A loaded test machine can take a while to bootstrap Nest twice over.
      const args = [path.join(dir, spec.file), '--processes', '2', '--mount-point', spec.mount, '--startup-timeout', '60', ...(spec.args ?? [])];
      const server = await startServer(args, { cwd: dir, env: spec.env, readyTimeoutMs: 70_000 });
      if (spec.interface) {
        const row = /^Application +: .*? \((.+)\)$/m.exec(server.output())?.[1];
        assert.equal(row, spec.interface, 'the interface the banner names');
      }
      for (const [urlPath, status, text] of spec.get ?? []) {
        const res = await request(server.url + urlPath.replace(/^\//, ''));
        const body = await res.body.text();
        assert.equal(res.statusCode, status, `${urlPath}: ${body}`);
        assert.ok(body.includes(text), `${urlPath}: ${JSON.stringify(body)} lacks ${JSON.stringify(text)}`);
      }
      for (const [urlPath, body, status, text] of spec.post ?? []) {
        const res = await request(server.url + urlPath.replace(/^\//, ''), { method: 'POST', body });
        assert.equal(res.statusCode, status);
        assert.equal(await res.body.text(), text);
      }
      if (spec.ws) await checkWebSocket(server.url, spec.ws);
      if (spec.socketio) await checkSocketIo(server.url, spec.mount, spec.socketio);
    });
  }
});
