/**
 * What node and fetch apps see behind a trusted proxy, through the real CLI:
 * Express's req.ip/req.protocol/req.hostname, Koa's ctx.ip/ctx.protocol/ctx.host
 * and Hono's getConnInfo()/c.req.url give the client, scheme and host the rules
 * give, with no proxy setting in the app; untrusted forwarded headers are gone from
 * req.headers and Request.headers; from an untrusted peer nothing is believed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { fixture, killAll, startServer, type RunningServer } from '../helpers/server.js';

after(killAll);

const TRUST = [
  '--trust-proxy-header', 'X-Forwarded-For', '--trust-proxy-header', 'X-Forwarded-Proto',
  '--trust-proxy-header', 'X-Forwarded-Host',
];
const FORWARDED = {
  'X-Forwarded-For': '203.0.113.5, 127.0.0.1',
  'X-Forwarded-Proto': 'https',
  'X-Forwarded-Host': 'public.example',
  'X-Real-IP': '198.51.100.66', // same category as X-Forwarded-For, not trusted: removed
};

async function json(server: RunningServer, path: string, headers: Record<string, string> = {}) {
  const res = await request(`http://127.0.0.1:${server.port}${path}`, { headers });
  assert.equal(res.statusCode, 200);
  return (await res.body.json()) as Record<string, unknown>;
}

function withServer(args: string[], body: (server: () => RunningServer) => void): void {
  let server: RunningServer;
  before(async () => {
    server = await startServer(args);
  });
  body(() => server);
}

describe('behind a trusted proxy (--trust-proxy 127.0.0.1)', { timeout: 90_000 }, () => {
  describe('Express', () => withServer([fixture('proxy-frameworks/express.ts'), ...TRUST, '--trust-proxy', '127.0.0.1'], (server) => {
    it('req.ip, req.protocol, req.secure and req.hostname are the client, scheme and host the rules give', async () => {
      assert.deepEqual(await json(server(), '/x', FORWARDED), {
        ip: '203.0.113.5', protocol: 'https', secure: true, hostname: 'public.example',
        xff: '203.0.113.5, 127.0.0.1', realIp: null,
      });
    });
    it('without forwarded headers, the connection itself', async () => {
      assert.deepEqual(await json(server(), '/x'), {
        ip: '127.0.0.1', protocol: 'http', secure: false, hostname: '127.0.0.1', xff: null, realIp: null,
      });
    });
  }));

  describe('Koa', () => withServer([fixture('proxy-frameworks/koa.ts'), ...TRUST, '--trust-proxy', '127.0.0.1'], (server) => {
    it('ctx.ip, ctx.protocol, ctx.secure and ctx.host are the client, scheme and host the rules give', async () => {
      assert.deepEqual(await json(server(), '/x', FORWARDED), {
        ip: '203.0.113.5', protocol: 'https', secure: true, host: 'public.example',
        xff: '203.0.113.5, 127.0.0.1', realIp: null,
      });
    });
  }));

  describe('Hono', () => withServer([fixture('proxy-frameworks/hono.ts'), ...TRUST, '--trust-proxy', '127.0.0.1'], (server) => {
    it('getConnInfo() and c.req.url are the client, scheme and host the rules give', async () => {
      const seen = await json(server(), '/x?y=1', FORWARDED);
      assert.deepEqual(seen.remote, { address: '203.0.113.5', port: (seen.remote as { port: number }).port, addressType: 'IPv4' });
      assert.equal(seen.url, 'https://public.example/x?y=1');
      assert.equal(seen.realIp, null);
    });
  }));

  describe('plain node and fetch apps', () => {
    const args = [fixture('proxy-echo.ts'), ...TRUST, '--trust-proxy', '127.0.0.1'];
    describe('node', () => withServer([...args, '--interface', 'node'], (server) => {
      it('req.socket reports the client and scheme; req.headers and req.rawHeaders agree with the environ', async () => {
        const seen = await json(server(), '/seen', FORWARDED);
        assert.equal(seen.remoteAddress, '203.0.113.5');
        assert.equal(seen.remoteFamily, 'IPv4');
        assert.equal(seen.encrypted, true);
        const headers = seen.headers as Record<string, string>;
        assert.equal(headers.host, 'public.example');
        assert.equal(headers['x-real-ip'], undefined);
        assert.equal(headers['x-forwarded-for'], '203.0.113.5, 127.0.0.1');
        const raw = seen.rawHeaders as string[];
        assert.ok(!raw.some((name) => name.toLowerCase() === 'x-real-ip'));
        assert.equal(raw[raw.findIndex((name) => name.toLowerCase() === 'host') + 1], 'public.example');
      });
    }));
    describe('fetch', () => withServer([...args, '--interface', 'fetch'], (server) => {
      it('request.url has the forwarded scheme and host; request.headers lose what was not believed', async () => {
        const seen = await json(server(), '/seen?q=1', FORWARDED);
        assert.equal(seen.url, 'https://public.example/seen?q=1');
        const headers = seen.headers as Record<string, string>;
        assert.equal(headers['x-real-ip'], undefined);
        assert.equal(headers.host, 'public.example');
        assert.equal(seen.remoteAddress, '203.0.113.5');
      });
    }));
  });
});

describe('the access log behind a trusted proxy', { timeout: 60_000 }, () => {
  for (const iface of ['node', 'tsgi'] as const) {
    it(`${iface} app: %a and %h are the client, %{c}a the proxy`, async () => {
      const server = await startServer([
        fixture('proxy-echo.ts'), '--interface', iface, ...TRUST, '--trust-proxy', '127.0.0.1',
        '--access-log', '--access-log-format', '%a|%h|%{c}a|%U',
      ]);
      await json(server, iface === 'node' ? '/seen' : '/get?key=REMOTE_ADDR', FORWARDED).catch(() => undefined);
      await server.waitFor(/^203\.0\.113\.5\|203\.0\.113\.5\|127\.0\.0\.1\|\/(seen|get)$/m);
    });
  }
});

describe('from a peer that is not a trusted proxy (--trust-proxy 10.99.99.99)', { timeout: 60_000 }, () => {
  describe('Express', () => withServer([fixture('proxy-frameworks/express.ts'), ...TRUST, '--trust-proxy', '10.99.99.99'], (server) => {
    it('nothing forwarded is believed, and every forwarded header of a trusted category is gone', async () => {
      assert.deepEqual(await json(server(), '/x', FORWARDED), {
        ip: '127.0.0.1', protocol: 'http', secure: false, hostname: '127.0.0.1', xff: null, realIp: null,
      });
    });
  }));
  describe('Hono', () => withServer([fixture('proxy-frameworks/hono.ts'), ...TRUST, '--trust-proxy', '10.99.99.99'], (server) => {
    it('getConnInfo() is the peer and the URL keeps the real Host', async () => {
      const seen = await json(server(), '/x', FORWARDED);
      assert.equal((seen.remote as { address: string }).address, '127.0.0.1');
      assert.match(seen.url as string, /^http:\/\/127\.0\.0\.1:\d+\/x$/);
      assert.equal(seen.xff, null);
    });
  }));
});
