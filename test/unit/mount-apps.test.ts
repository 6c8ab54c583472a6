// The mount stage with several applications: the most specific mount wins, on whole
// segments, and says whose the request is; the config checks of config/apps.ts.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { normaliseAppMount, resolveApps } from '../../src/config/apps.js';
import type { RequestContext } from '../../src/pipeline/context.js';
import { mountStage } from '../../src/pipeline/mount.js';

function route(stage: ReturnType<typeof mountStage>, url: string): { app?: number; scriptName?: string; pathInfo?: string; status?: number } {
  let status: number | undefined;
  const req = { url, method: 'GET', headers: {} } as IncomingMessage;
  const res = { req, headersSent: false, writeHead: (s: number) => ((status = s), res), end() {} } as unknown as ServerResponse;
  const ctx = { req, res, scriptName: '', pathInfo: '', queryString: '' } as RequestContext;
  let passed = false;
  stage(ctx, () => (passed = true));
  return passed ? { app: ctx.appIndex ?? 0, scriptName: ctx.scriptName, pathInfo: ctx.pathInfo } : { status: status ?? 0 };
}

describe('mount stage with --mount-app', () => {
  const stage = mountStage('/', [], undefined, false, ['/api', '/api/admin', '/blog']);
  const cases: [string, number, string, string][] = [
    ['/', 0, '', '/'],
    ['/other/x', 0, '', '/other/x'],
    ['/api', 1, '/api', ''],
    ['/api/', 1, '/api', '/'],
    ['/api/items?x=1', 1, '/api', '/items'],
    ['/apiary', 0, '', '/apiary'],
    ['/api/admin', 2, '/api/admin', ''],
    ['/api/admin/users', 2, '/api/admin', '/users'],
    ['/api/administrator', 1, '/api', '/administrator'],
    ['/api//admin/x', 2, '/api/admin', '/x'],
    ['/blog/../api/admin/x', 2, '/api/admin', '/x'],
  ];
  for (const [url, app, scriptName, pathInfo] of cases) {
    it(`${url} -> app ${app} at ${scriptName || '/'}`, () => {
      assert.deepEqual(route(stage, url), { app, scriptName, pathInfo });
    });
  }

  it('a path under no mount is 404 when the main app is not at /', () => {
    const nested = mountStage('/main', [], undefined, false, ['/api']);
    assert.deepEqual(route(nested, '/elsewhere'), { status: 404 });
    assert.deepEqual(route(nested, '/main/x'), { app: 0, scriptName: '/main', pathInfo: '/x' });
    assert.deepEqual(route(nested, '/api/x'), { app: 1, scriptName: '/api', pathInfo: '/x' });
  });
});

describe('config/apps.ts', () => {
  it('normalises a trailing slash and refuses what is not a path', () => {
    assert.equal(normaliseAppMount('/api/', 'x'), '/api');
    assert.equal(normaliseAppMount('/', 'x'), '/');
    for (const bad of ['api', '/a?b', '/a b', '/a/../b', '//a', 7]) assert.throws(() => normaliseAppMount(bad, 'where'), /where: the mount must/);
  });

  it('refuses two apps on one mount, the main one included', () => {
    const script = new URL('../fixtures/apps/tsgi-app.ts', import.meta.url).pathname;
    assert.throws(() => resolveApps([['/a', script], ['/a/', script]], [], '/', '/'), /--mount-app \/a\/: \/a is already the mount of --mount-app \/a/);
    assert.throws(() => resolveApps([['/m', script]], [], '/m', '/'), /already the mount of the main application/);
    assert.equal(resolveApps([['/a', script]], [], '/', '/')[0]!.interface, 'auto');
  });
});
