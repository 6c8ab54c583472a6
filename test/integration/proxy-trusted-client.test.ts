// Proxy mounts behind a trusted proxy (--trust-proxy-header, --trust-proxy): the
// X-Forwarded-* the mount sends upstream start from the client the trusted headers
// name, not from the proxy in front; an untrusted peer's claims never get through.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { fixture, killAll, startServer } from '../helpers/server.js';

let upstream: http.Server;
let upstreamPort: number;

before(async () => {
  upstream = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(req.headers));
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  upstreamPort = (upstream.address() as AddressInfo).port;
});

after(async () => {
  killAll();
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});

async function seenUpstream(url: string, headers: Record<string, string>): Promise<Record<string, string>> {
  const res = await request(url, { headers, reset: true, headersTimeout: 10_000, bodyTimeout: 10_000 });
  assert.equal(res.statusCode, 200);
  return (await res.body.json()) as Record<string, string>;
}

const mount = () => ['--proxy-mount-point', '/api', `http://127.0.0.1:${upstreamPort}/`];

describe('X-Forwarded-* sent upstream behind a trusted proxy', { timeout: 60_000 }, () => {
  it('X-Real-IP trusted: the chain starts at the client it names (the spoofed X-Forwarded-For is dropped); scheme and port are the forwarded ones', async () => {
    const server = await startServer([
      fixture('app.ts'), ...mount(),
      '--trust-proxy-header', 'X-Real-IP', '--trust-proxy-header', 'X-Forwarded-Proto', '--trust-proxy-header', 'X-Forwarded-Port',
      '--trust-proxy', '127.0.0.1/32',
    ]);
    const seen = await seenUpstream(`${server.url}api/h`, {
      'x-real-ip': '203.0.113.5', 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-port': '443',
    });
    assert.equal(seen['x-forwarded-for'], '203.0.113.5, 127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'https');
    assert.equal(seen['x-forwarded-port'], '443');
    // Without the trusted headers: the peer, and the connection's own scheme and port.
    const plain = await seenUpstream(`${server.url}api/h`, {});
    assert.equal(plain['x-forwarded-for'], '127.0.0.1');
    assert.equal(plain['x-forwarded-proto'], 'http');
    assert.equal(plain['x-forwarded-port'], String(server.port));
  });

  it('X-Forwarded-For trusted: the chain cut at the client, then the peer; from an untrusted peer only the peer', async () => {
    const trusted = await startServer([fixture('app.ts'), ...mount(), '--trust-proxy-header', 'X-Forwarded-For', '--trust-proxy', '127.0.0.1/32']);
    const seen = await seenUpstream(`${trusted.url}api/h`, { 'x-forwarded-for': '6.6.6.6, 203.0.113.5, 127.0.0.1' });
    assert.equal(seen['x-forwarded-for'], '203.0.113.5, 127.0.0.1, 127.0.0.1');
    const untrusted = await startServer([fixture('app.ts'), ...mount(), '--trust-proxy-header', 'X-Forwarded-For', '--trust-proxy', '10.0.0.0/8']);
    const alone = await seenUpstream(`${untrusted.url}api/h`, { 'x-forwarded-for': '203.0.113.5' });
    assert.equal(alone['x-forwarded-for'], '127.0.0.1');
  });
});
