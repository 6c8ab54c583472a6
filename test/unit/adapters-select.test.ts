import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import type { Config } from '../../src/config/schema.js';
import { TsgiError } from '../../src/errors.js';
import { ListenCapture, plannedAddress } from '../../src/worker/listen-capture.js';
import { selectInterface } from '../../src/worker/select-interface.js';
import { recordingLog, testServerInfo } from './adapters-harness.js';

const log = recordingLog([]);
// Not installed: these modules never listen, and the wait for a listen() is short.
const capture = new ListenCapture(() => plannedAddress('127.0.0.1', 8000), log);
const opts = { server: testServerInfo(), log, debugMode: false, capture, listenWaitMs: 20 };

function select(namespace: Record<string, unknown>, iface: Config['interface'] = 'auto', callableObject = 'application') {
  const config = { interface: iface, callableObject, scriptPath: '/srv/app.ts', keepMountPrefix: false } as Config;
  return selectInterface(namespace, config, opts);
}

const tsgiApp = () => [];
const handler = () => {};

describe('selectInterface --interface auto', () => {
  it('picks each accepted shape', async () => {
    assert.equal((await select({ application: tsgiApp })).kind, 'tsgi');
    assert.equal((await select({ default: new Hono() })).kind, 'fetch');
    assert.equal((await select({ default: { fetch: () => new Response() } })).kind, 'fetch');
    assert.equal((await select({ default: express() })).kind, 'node');
    assert.equal((await select({ default: handler })).kind, 'node');
    assert.equal((await select({ default: new Koa() })).kind, 'node');
  });

  it('prefers the TSGI callable over a default export, and honours --callable-object', async () => {
    assert.equal((await select({ application: tsgiApp, default: new Hono() })).kind, 'tsgi');
    assert.equal((await select({ app: tsgiApp, default: handler }, 'auto', 'app')).kind, 'tsgi');
    assert.equal((await select({ app: tsgiApp, default: handler })).kind, 'node');
  });

  it('treats an Express app or a Hono app exported under the callable name by its own shape', async () => {
    assert.equal((await select({ application: express() })).kind, 'node');
    assert.equal((await select({ application: new Hono() })).kind, 'fetch');
    assert.equal((await select({ application: new Koa() })).kind, 'node');
  });

  it('awaits a default export that is a promise, and serves Fastify through its router', async () => {
    assert.equal((await select({ default: Promise.resolve(express()) })).kind, 'node');
    assert.equal((await select({ default: Promise.resolve(new Hono()) })).kind, 'fetch');
    const app = Fastify();
    app.get('/', async () => 'hi');
    const selected = await select({ default: app });
    assert.equal(selected.kind, 'node');
    assert.ok(selected.upgrade, "Fastify's server takes upgrades");
    await app.close();
  });

  it('serves a named `handler` export, or a --callable-object node handler, as node', async () => {
    assert.equal((await select({ handler: (_req: unknown, _res: unknown, _next: unknown) => {} })).kind, 'node');
    assert.equal((await select({ handler: (..._args: unknown[]) => {} }, 'auto', 'handler')).kind, 'node');
    assert.equal((await select({ mw: (_req: unknown, _res: unknown, _next: unknown) => {} }, 'auto', 'mw')).kind, 'node');
    assert.equal((await select({ mw: (_environ: unknown, _start: unknown) => [] }, 'auto', 'mw')).kind, 'tsgi');
  });

  it('finds a CommonJS module.exports.application', async () => {
    assert.equal((await select({ default: { application: tsgiApp } })).kind, 'tsgi');
  });

  it('stops with TSGI_APP_SHAPE listing the exports and the accepted shapes', async () => {
    await assert.rejects(
      () => select({ default: { port: 3000 }, name: 'x' }),
      (err: TsgiError) => {
        assert.equal(err.code, 'TSGI_APP_SHAPE');
        assert.match(err.message, /\/srv\/app\.ts exports no application for --interface auto/);
        assert.match(err.message, /It exports: default \(object with port\), name \(string\)/);
        assert.match(err.message, /TSGI function exported as "application"/);
        assert.match(err.message, /fetch\(request\) method/);
        assert.match(err.message, /Koa, Fastify or Nest app/);
        assert.match(err.message, /did not call listen\(\) within 0\.02 s of loading \(--startup-timeout\)/);
        return true;
      },
    );
    await assert.rejects(() => select({}), /It exports: nothing/);
  });
});

describe('selectInterface with an explicit --interface', () => {
  it('tsgi uses only the callable export', async () => {
    assert.equal((await select({ application: tsgiApp }, 'tsgi')).kind, 'tsgi');
    await assert.rejects(() => select({ default: handler }, 'tsgi'), /--interface tsgi/);
  });

  it('fetch takes a fetch method or a fetch function', async () => {
    assert.equal((await select({ default: new Hono(), application: tsgiApp }, 'fetch')).kind, 'fetch');
    assert.equal((await select({ default: handler }, 'fetch')).kind, 'fetch');
    assert.equal((await select({ handle: handler }, 'fetch', 'handle')).kind, 'fetch');
    await assert.rejects(() => select({ default: new Koa() }, 'fetch'), /--interface fetch/);
  });

  it('node takes a (req, res) function or a Koa app', async () => {
    assert.equal((await select({ default: new Koa() }, 'node')).kind, 'node');
    assert.equal((await select({ application: handler }, 'node')).kind, 'node');
    await assert.rejects(() => select({ default: new Hono() }, 'node'), /--interface node/);
  });
});
