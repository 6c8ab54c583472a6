/**
 * The interface contract (test/helpers/contract.ts): every kind of app (TSGI,
 * fetch, node, and real Express, Koa and Hono apps) sees the same request the
 * same way and gets the same service, through the real CLI and real sockets,
 * with one and with two workers. HTTPS and HTTP/2: contract-tls.test.ts.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { APPS, contract, MOUNT, stop } from '../helpers/contract.js';
import { fixture, killAll, runCli, startServer } from '../helpers/server.js';
import type { Echo } from '../fixtures/contract/shared.js';

after(killAll);

for (const processes of [1, 2]) for (const app of APPS) contract(app, processes);

describe('the framework examples run as they are', { timeout: 60_000 }, () => {
  const examples: [file: string, iface: string, expect: RegExp][] = [
    ['fetch.ts', 'fetch', /"hello":"world"/],
    ['hono.ts', 'fetch', /Hello from Hono!/],
    ['express.ts', 'node', /Hello from Express!/],
    ['koa.ts', 'node', /"hello":"from Koa"/],
    ['node-handler.ts', 'node', /Hello from a node:http handler!/],
  ];
  for (const [file, iface, expect] of examples) {
    it(`examples/${file} (${iface})`, async () => {
      const server = await startServer([`examples/${file}`]);
      try {
        assert.match(server.output(), new RegExp(`Application\\s*: .*examples/${file} \\(${iface}\\)`));
        const res = await request(server.url);
        assert.equal(res.statusCode, 200);
        assert.match(await res.body.text(), expect);
      } finally {
        await stop(server);
      }
    });
  }
});

describe('node interface below a mount point', { timeout: 30_000 }, () => {
  it('logs the URL the client sent, not the one the app sees', async () => {
    const server = await startServer([fixture('contract/express.ts'), '--access-log', '--mount-point', MOUNT]);
    try {
      const res = await request(`${server.url.replace(/\/$/, '')}${MOUNT}/echo?q=1`);
      assert.equal(((await res.body.json()) as Echo).path, '/echo');
      await server.waitFor(new RegExp(`"GET ${MOUNT}/echo\\?q=1 HTTP/1.1" 200`), 10_000);
    } finally {
      await stop(server);
    }
  });
});

describe('--application-type module', { timeout: 60_000 }, () => {
  const modules: [name: string, iface: string, body: string][] = [
    ['esm-app', 'fetch', 'esm-app'],
    ['cjs-app', 'node', 'cjs-app'],
    ['@acme/web/server', 'fetch', '@acme/web/server'],
  ];
  for (const [name, iface, body] of modules) {
    it(`serves ${name} (${iface}) resolved from --working-directory`, async () => {
      const args = ['--application-type', 'module', '--working-directory', fixture('modules'), name];
      const server = await startServer(args);
      try {
        assert.match(server.output(), new RegExp(`Application\\s*: .*\\(${iface}\\)`));
        assert.equal(await (await request(server.url)).body.text(), body);
      } finally {
        await stop(server);
      }
    });
  }

  it('stops when the name does not resolve, naming it and the directory searched', async () => {
    const dir = fixture('modules');
    const { code, output } = await runCli([
      'start-server', '--application-type', 'module', '--working-directory', dir, '@acme/missing',
      '--host', '127.0.0.1', '--port', '0',
    ]);
    assert.equal(code, 2);
    assert.ok(output.includes(`cannot resolve "@acme/missing" from ${dir}`), output);
  });
});
