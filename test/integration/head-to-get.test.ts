/**
 * --map-head-to-get through the real CLI: with On every interface's app sees GET
 * for a HEAD, the client gets the GET's headers and no body (the keep-alive
 * connection stays usable, so no stray bytes were sent), and the access log still
 * says HEAD. Off, and Auto without a response filter, leave HEAD; Auto with
 * --compress-responses maps, and the HEAD gets the compressed GET's headers.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fixture, killAll, startServer } from '../helpers/server.js';
import { exchange, parseResponse } from '../helpers/proxy-client.js';

after(killAll);

const head = (path: string) => `HEAD ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`;
const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`;

/** A HEAD then a GET on one keep-alive connection: both responses, split. */
async function headThenGet(port: number) {
  const { raw } = await exchange(port, [head('/'), get('/')]);
  const second = raw.indexOf('HTTP/1.1', 1);
  assert.ok(second > 0, `two responses expected, got:\n${raw}`);
  return { head: parseResponse(raw.slice(0, second)), get: parseResponse(raw.slice(second)) };
}

for (const iface of ['tsgi', 'fetch', 'node'] as const) {
  describe(`--map-head-to-get, ${iface} app`, { timeout: 60_000 }, () => {
    it('On: the app sees GET; the client gets the GET headers and no body; the log says HEAD', async () => {
      const server = await startServer([fixture('head-method.ts'), '--interface', iface, '--map-head-to-get', 'On', '--access-log']);
      const { head: h, get: g } = await headThenGet(server.port);
      assert.equal(h.status, 200);
      assert.equal(h.headers['x-method'], 'GET');
      assert.equal(h.body, '', 'no body for HEAD');
      assert.equal(h.headers['content-length'] ?? h.headers['transfer-encoding'], g.headers['content-length'] ?? g.headers['transfer-encoding']);
      assert.equal(g.body.length, 5000);
      await server.waitFor(/"HEAD \/ HTTP\/1\.1" 200 -/);
    });

    it('Auto with --compress-responses: the app sees GET; the HEAD gets the headers of the compressed GET', async () => {
      const server = await startServer([fixture('head-method.ts'), '--interface', iface, '--compress-responses']);
      const gzip = 'Accept-Encoding: gzip\r\n';
      const { raw } = await exchange(server.port, [head('/').replace('\r\n\r\n', `\r\n${gzip}\r\n`), get('/').replace('\r\n\r\n', `\r\n${gzip}\r\n`)]);
      const second = raw.indexOf('HTTP/1.1', 1);
      const h = parseResponse(raw.slice(0, second));
      const g = parseResponse(raw.slice(second));
      assert.equal(h.headers['x-method'], 'GET');
      assert.equal(h.headers['content-encoding'], 'gzip');
      assert.equal(h.headers['content-encoding'], g.headers['content-encoding']);
      assert.equal(h.headers.vary, g.headers.vary);
      assert.equal(h.headers['content-length'], undefined);
      assert.equal(h.body, '', 'no body for HEAD');
    });

    for (const mode of ['Off', 'Auto']) {
      it(`${mode}: the app sees HEAD`, async () => {
        const server = await startServer([fixture('head-method.ts'), '--interface', iface, '--map-head-to-get', mode]);
        const { head: h, get: g } = await headThenGet(server.port);
        assert.equal(h.headers['x-method'], 'HEAD');
        assert.equal(h.body, '');
        assert.equal(g.headers['x-method'], 'GET');
      });
    }
  });
}
