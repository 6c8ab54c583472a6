// Every framework app in docs/frameworks.md, as the page shows it, served on
// --processes 2 under its mount point. The page marks each file with a comment
// (test/helpers/doc-apps.ts reads them, and builds the apps that need a build).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { io } from 'socket.io-client';
import { request } from 'undici';
import WebSocket from 'ws';
import { docApps, prepare, WORK } from '../helpers/doc-apps.js';
import { killAll, runCli, startServer } from '../helpers/server.js';

const apps = docApps();
after(() => {
  killAll();
  rmSync(WORK, { recursive: true, force: true });
});

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

describe('docs/frameworks.md and docs/tsgi.md: every complete app as the page shows it', () => {
  it('marks an app for each framework section', () => {
    const names = ['express', 'fastify', 'fastify-export', 'nest', 'nest-factory', 'koa', 'hono', 'h3', 'elysia', 'ws', 'socket.io', 'bun-ws', 'tsgi-example'];
    for (const name of [...names, 'promised-app', 'named-handler', 'next', 'sveltekit', 'astro']) {
      assert.ok(apps.get(name)?.spec, `no test-app marker for ${name}`);
    }
  });

  for (const [name, app] of apps) {
    const spec = app.spec;
    if (!spec) continue;
    // A cached build (SvelteKit, Astro) may have to be made first: a Vite build on a loaded machine.
    it(`${name}: ${spec.file} on --processes 2 under ${spec.mount}`, { timeout: spec.cache ? 600_000 : 180_000 }, async () => {
      const dir = prepare(name, app, apps);
      if (spec.tsEntryError) {
        const { code, output } = await runCli(['start-server', path.join(dir, spec.tsEntryError), '--port', '0', '--host', '127.0.0.1']);
        assert.equal(code, 3);
        assert.match(output, /sets "emitDecoratorMetadata", which tsgi-express cannot honour.*Build the project with tsc/s);
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
      if (spec.linked) {
        const [page, pattern] = spec.linked;
        const html = await (await request(server.url + page.replace(/^\//, ''))).body.text();
        const asset = new RegExp(pattern).exec(html)?.[0];
        assert.ok(asset, `${page} links nothing that matches ${pattern}: ${html}`);
        const res = await request(new URL(asset, server.url + page.replace(/^\//, '')));
        assert.equal(res.statusCode, 200, `${asset}, linked from ${page}`);
        await res.body.dump();
      }
      if (spec.ws) await checkWebSocket(server.url, spec.ws);
      if (spec.socketio) await checkSocketIo(server.url, spec.mount, spec.socketio);
    });
  }
});
