/**
 * A worker that crashes under HTTPS keep-alive load and under HTTP/2 load
 * (issue 17: "Reload, SIGTERM, worker crash: the same zero-drop guarantees as
 * HTTP/1.1 hold for HTTPS and for HTTP/2"). The app crashes its worker on
 * /crash, after answering; bounded loads of other requests run meanwhile, and
 * every one of them succeeds: the crashing worker stops taking connections,
 * tells its kept-alive HTTP/1.1 connections to close and its HTTP/2 sessions
 * to go away, and lets what is in flight finish before it exits; the other
 * worker and the replacement take the rest.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { H2Load, h2connect, h2request } from '../helpers/h2.js';
import { Load } from '../helpers/load.js';
import { fixture, killAll, startServer, type RunningServer } from '../helpers/server.js';
import { ca, pki, tlsArgs, useTestPki } from '../helpers/tls.js';

useTestPki();
after(() => killAll());


/** Crashes one worker through `crash()`; resolves with its pid once the master has seen it die and replaced it. */
async function crashOne(server: RunningServer, crash: () => Promise<number>): Promise<string> {
  const from = server.output().length;
  assert.equal(await crash(), 200, 'the crashing request itself is answered');
  const died = await server.waitFor(/worker (\d+) died \(exit code 1\) while serving requests/, 10_000, from);
  await server.waitFor(/crash requested/, 5000, from);
  return died[1]!;
}

describe('a worker crash under HTTPS and HTTP/2 load', { timeout: 180_000 }, () => {
  it('HTTPS keep-alive load (and new connections): zero failed requests', async () => {
    const server = await startServer([fixture('app.ts'), ...tlsArgs(), '--processes', '2']);
    const url = `${server.httpsUrl}pid`;
    const keepAlive = new Load(url, { loops: 4, keepAlive: true, maxMs: 30_000, hangMs: 10_000, agent: { connect: { ca } } });
    const fresh = new Load(url, { loops: 2, keepAlive: false, maxMs: 30_000, hangMs: 10_000, agent: { connect: { ca } } });
    await sleep(500);
    const agent = new Agent({ connect: { ca } });
    const dead = await crashOne(server, async () => {
      const res = await request(`${server.httpsUrl}crash`, { dispatcher: agent, reset: true });
      await res.body.text();
      return res.statusCode;
    });
    await sleep(1500); // keep loading while the replacement starts
    const [a, b] = [await keepAlive.stop(), await fresh.stop()];
    await agent.close();
    assert.equal(a.failed, 0, `keep-alive failures: ${a.errors.join('; ')}`);
    assert.equal(b.failed, 0, `new-connection failures: ${b.errors.join('; ')}`);
    assert.ok(a.ok > 50 && b.ok > 20, `too little load to prove anything: ${a.ok} + ${b.ok}`);
    assert.ok(a.bodies.has(dead) || b.bodies.has(dead), 'the load reached the worker that crashed');
    assert.ok([...a.bodies, ...b.bodies].length >= 3, `the pids before and after the crash: ${[...a.bodies].join(' ')}`);
  });

  for (const way of ['h2 over TLS', 'h2c'] as const) {
    it(`HTTP/2 load (${way}): zero failed requests`, async () => {
      const server = await startServer([fixture('app.ts'), ...tlsArgs(), '--processes', '2']);
      const base = way === 'h2c' ? server.url : server.httpsUrl!;
      const trust = way === 'h2c' ? undefined : ca;
      const load = new H2Load(base, '/pid', { loops: 6, maxMs: 30_000, ca: trust });
      await sleep(500);
      const dead = await crashOne(server, async () => {
        const session = await h2connect(base, trust);
        const res = await h2request(session, { ':path': '/crash' });
        session.close();
        return res.status;
      });
      await sleep(1500);
      const result = await load.stop();
      assert.equal(result.failed, 0, `failures: ${result.errors.join('; ')}`);
      assert.ok(result.ok > 50, `too little load to prove anything: ${result.ok}`);
      assert.ok(result.bodies.has(dead), 'the load reached the worker that crashed');
      // Its sessions, told to go away, opened new ones on the worker that stayed (sessions last).
      assert.ok(result.bodies.size >= 2, `the pids served: ${[...result.bodies].join(' ')}`);
      assert.ok(result.goaways > 0, 'the crashed worker sent its sessions a GOAWAY');
    });
  }
});
