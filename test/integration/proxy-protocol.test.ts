/**
 * --proxy-protocol through the real CLI, with the PROXY client written in the
 * test (test/helpers/proxy-client.ts): from a --trust-proxy peer the preamble
 * names the client (REMOTE_ADDR, REMOTE_PORT, %a, the node socket) and without
 * a valid one the connection is closed; from any other peer plain HTTP works
 * and a preamble is refused with 400.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixture, killAll, startServer, type RunningServer } from '../helpers/server.js';
import { exchange, getRequest, parseResponse, proxyV1, proxyV2 } from '../helpers/proxy-client.js';

after(killAll);

const FORMAT = '%a|%h|%{c}a|%r';

async function ask(server: RunningServer, chunks: (Buffer | string)[]) {
  const { raw, closed } = await exchange(server.port, chunks);
  return { ...parseResponse(raw), closed };
}

const key = (name: string, headers: Record<string, string> = {}) => getRequest(`/get?key=${name}`, headers);

describe('--proxy-protocol from a trusted proxy', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([
      fixture('proxy-echo.ts'), '--proxy-protocol', '--trust-proxy', '127.0.0.1',
      '--access-log', '--access-log-format', FORMAT, '--log-level', 'info',
    ]);
  });

  it('v1 TCP4: the client is the preamble\'s source, in the environ and the access log', async () => {
    const pre = proxyV1('203.0.113.5', '192.0.2.1', 51234, 443);
    assert.equal((await ask(server, [pre, key('REMOTE_ADDR')])).body, 'value=203.0.113.5;end');
    assert.equal((await ask(server, [pre, key('REMOTE_PORT')])).body, 'value=51234;end');
    await server.waitFor(/^203\.0\.113\.5\|203\.0\.113\.5\|127\.0\.0\.1\|GET \/get\?key=REMOTE_ADDR HTTP\/1\.1$/m);
  });

  it('v1 TCP6, v2 IPv4 and IPv6', async () => {
    const cases: [Buffer, string][] = [
      [proxyV1('2001:db8::5', '2001:db8::1', 5, 443), '2001:db8::5'],
      [proxyV2({ src: '198.51.100.7', dst: '192.0.2.1', sport: 7, dport: 443 }), '198.51.100.7'],
      [proxyV2({ src: '2001:db8::7', dst: '2001:db8::1', sport: 7, dport: 443 }), '2001:db8::7'],
    ];
    for (const [pre, client] of cases) assert.equal((await ask(server, [pre, key('REMOTE_ADDR')])).body, `value=${client};end`);
  });

  it('v2 LOCAL (a health check by the proxy itself) keeps the peer', async () => {
    assert.equal((await ask(server, [proxyV2({ local: true }), key('REMOTE_ADDR')])).body, 'value=127.0.0.1;end');
  });

  it('v2 with the SSL TLV: the scheme is https', async () => {
    const pre = proxyV2({ src: '198.51.100.7', dst: '192.0.2.1', sport: 7, dport: 443, tls: true });
    assert.equal((await ask(server, [pre, key('tsgi.url_scheme')])).body, 'value=https;end');
    assert.equal((await ask(server, [pre, key('HTTPS')])).body, 'value=on;end');
  });

  it('a preamble split byte by byte, and one sent with the request in one write', async () => {
    const pre = proxyV2({ src: '198.51.100.8', dst: '192.0.2.1', sport: 8, dport: 443 });
    const bytes = [...pre].map((b) => Buffer.from([b]));
    assert.equal((await ask(server, [...bytes, key('REMOTE_ADDR')])).body, 'value=198.51.100.8;end');
    const joined = Buffer.concat([proxyV1('198.51.100.9', '192.0.2.1', 9, 80), Buffer.from(key('REMOTE_ADDR'))]);
    assert.equal((await ask(server, [joined])).body, 'value=198.51.100.9;end');
  });

  it('keeps the client for every request of a keep-alive connection', async () => {
    const first = 'GET /get?key=REMOTE_ADDR HTTP/1.1\r\nHost: localhost\r\n\r\n';
    const { raw } = await exchange(server.port, [proxyV1('198.51.100.10', '192.0.2.1', 10, 80), first, key('REMOTE_ADDR')]);
    assert.equal(raw.match(/value=198\.51\.100\.10;end/g)?.length, 2, raw);
  });

  it('closes a connection from the proxy that starts without a valid preamble, and logs it', async () => {
    for (const start of [key('REMOTE_ADDR'), 'PROXY TCP4 nonsense\r\n' + key('REMOTE_ADDR')]) {
      const from = server.output().length;
      const res = await ask(server, [start]);
      assert.equal(res.closed, true);
      assert.equal(res.raw, '', 'nothing is answered');
      await server.waitFor(/tsgi:info.*closed a connection from trusted proxy 127\.0\.0\.1: it did not start with a valid PROXY protocol header/, 5_000, from);
    }
  });
});

describe('--proxy-protocol from a peer that is not a trusted proxy', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([fixture('proxy-echo.ts'), '--proxy-protocol', '--trust-proxy', '10.99.99.99']);
  });

  it('serves plain HTTP as it is', async () => {
    assert.equal((await ask(server, [key('REMOTE_ADDR')])).body, 'value=127.0.0.1;end');
  });

  it('refuses a preamble (v1 or v2) with 400 and closes, so it never sets the client', async () => {
    for (const pre of [proxyV1('203.0.113.5', '192.0.2.1', 1, 2), proxyV2({ src: '203.0.113.5', dst: '192.0.2.1', sport: 1, dport: 2 })]) {
      const from = server.output().length;
      const res = await ask(server, [pre, key('REMOTE_ADDR')]);
      assert.equal(res.status, 400);
      assert.match(res.body, /PROXY protocol header is accepted only from a trusted proxy/);
      assert.doesNotMatch(res.raw, /value=/);
      assert.equal(res.closed, true);
      await server.waitFor(/tsgi:info.*400 for 127\.0\.0\.1: a PROXY protocol header from a peer that is not a trusted proxy/, 5_000, from);
    }
  });
});

describe('--proxy-protocol with trusted headers and two workers', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([
      fixture('proxy-echo.ts'), '--interface', 'node', '--processes', '2', '--proxy-protocol',
      '--trust-proxy', '127.0.0.1', '--trust-proxy-header', 'X-Forwarded-For',
    ]);
  });

  it('the headers are judged against the client the preamble names: from a client, X-Forwarded-For is dropped', async () => {
    const pre = proxyV1('203.0.113.5', '192.0.2.1', 1, 80);
    const res = await ask(server, [pre, key('REMOTE_ADDR', { 'X-Forwarded-For': '198.51.100.1' })]);
    assert.equal(res.body, 'value=203.0.113.5;end');
    const seen = JSON.parse((await ask(server, [pre, getRequest('/seen', { 'X-Forwarded-For': '198.51.100.1' })])).body);
    assert.equal(seen.remoteAddress, '203.0.113.5');
    assert.equal(seen.headers['x-forwarded-for'], undefined);
  });

  it('from a proxy the preamble names (a second proxy), X-Forwarded-For is believed', async () => {
    const pre = proxyV1('127.0.0.1', '192.0.2.1', 1, 80);
    const res = await ask(server, [pre, key('REMOTE_ADDR', { 'X-Forwarded-For': '198.51.100.1' })]);
    assert.equal(res.body, 'value=198.51.100.1;end');
  });
});
