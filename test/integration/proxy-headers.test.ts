/**
 * Trusted proxy headers: the 56 assertions of mod_wsgi's own suite
 * (tests/wsgi/proxy_headers.sh, with proxy_headers.conf), one row each, through a
 * real server per <Location> of that suite, for TSGI, fetch and node apps (which
 * read the environ: the second argument, req.environ). Keys are renamed as the
 * environs differ: wsgi.url_scheme is tsgi.url_scheme, mod_wsgi.mount_point is
 * tsgi_express.mount_point. Then what each interface shows on its own: the node
 * request's socket and headers, the fetch Request's URL and headers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { fixture, killAll, startServer, type RunningServer } from '../helpers/server.js';
import { exchange, getRequest, parseResponse, proxyV2 } from '../helpers/proxy-client.js';

after(killAll);

const MOUNT = '/test/wsgi/proxy-headers';
const header = (name: string) => ['--trust-proxy-header', name];
const BASIC_HEADERS = ['X-Forwarded-For', 'X-Forwarded-Host', 'X-Forwarded-Proto', 'X-Forwarded-SSL', 'X-Forwarded-HTTPS', 'X-Script-Name', 'X-Forwarded-Script-Name'];
const TRUSTED_HEADERS = ['X-Forwarded-For', 'X-Forwarded-Host', 'X-Forwarded-Proto', 'X-Forwarded-SSL', 'X-Script-Name', 'X-Forwarded-Script-Name', 'X-Forwarded-Server', 'X-Forwarded-Port'];

/** proxy_headers.conf's four <Location> blocks, as flags. */
const LOCATIONS = {
  basic: BASIC_HEADERS.flatMap(header),
  'trusted-client': [...TRUSTED_HEADERS.flatMap(header), '--trust-proxy', '127.0.0.1', '--trust-proxy', '::1'],
  'untrusted-client': [...TRUSTED_HEADERS.flatMap(header), '--trust-proxy', '10.99.99.99'],
  partial: header('X-Forwarded-For'),
} as const;
type Location = keyof typeof LOCATIONS;

/**
 * Section 6 of the suite runs over HTTPS. Until tsgi-express has an HTTPS listener,
 * those rows run over a connection whose PROXY v2 header says the client used TLS,
 * which makes the connection's own scheme https the same way (docs/proxies.md).
 */
const TLS_LOCATIONS = {
  'trusted-client': [...LOCATIONS['trusted-client'], '--proxy-protocol'],
  partial: [...LOCATIONS.partial, '--trust-proxy', '127.0.0.1', '--proxy-protocol'],
} as const;

interface Row {
  readonly name: string;
  readonly location: Location;
  readonly tls?: boolean;
  readonly op: 'get' | 'has';
  readonly key: string;
  readonly headers?: Record<string, string>;
  /** `{HOST}` stands for the Host header the client sent. */
  readonly expect: string;
}

const XFF = 'X-Forwarded-For';
const ROWS: Row[] = [
  // 1. Basic: trusted headers, no trusted-proxies list.
  { location: 'basic', op: 'get', key: 'REMOTE_ADDR', headers: { [XFF]: '203.0.113.5, 10.0.0.1' }, expect: 'value=203.0.113.5;end', name: 'X-Forwarded-For rewrites REMOTE_ADDR to the first (client) entry when no trusted-proxies list is set' },
  { location: 'basic', op: 'get', key: 'HTTP_X_FORWARDED_FOR', headers: { [XFF]: '203.0.113.5, 10.0.0.1' }, expect: 'value=203.0.113.5, 10.0.0.1;end', name: 'HTTP_X_FORWARDED_FOR is left intact when no trusted-proxies list is set' },
  { location: 'basic', op: 'get', key: 'HTTP_HOST', headers: { 'X-Forwarded-Host': 'proxy.example.com' }, expect: 'value=proxy.example.com;end', name: 'X-Forwarded-Host rewrites HTTP_HOST' },
  { location: 'basic', op: 'get', key: 'tsgi.url_scheme', headers: { 'X-Forwarded-Proto': 'https' }, expect: 'value=https;end', name: 'X-Forwarded-Proto: https yields url_scheme=https' },
  { location: 'basic', op: 'get', key: 'tsgi.url_scheme', headers: { 'X-Forwarded-Proto': 'http' }, expect: 'value=http;end', name: 'X-Forwarded-Proto: http yields url_scheme=http' },
  { location: 'basic', op: 'get', key: 'tsgi.url_scheme', headers: { 'X-Forwarded-SSL': 'On' }, expect: 'value=https;end', name: 'X-Forwarded-SSL: On yields url_scheme=https' },
  { location: 'basic', op: 'get', key: 'tsgi.url_scheme', headers: { 'X-Forwarded-SSL': 'true' }, expect: 'value=https;end', name: 'X-Forwarded-SSL: true yields url_scheme=https' },
  { location: 'basic', op: 'get', key: 'tsgi.url_scheme', headers: { 'X-Forwarded-SSL': '1' }, expect: 'value=https;end', name: 'X-Forwarded-SSL: 1 yields url_scheme=https' },
  { location: 'basic', op: 'get', key: 'tsgi.url_scheme', headers: { 'X-Forwarded-SSL': 'Off' }, expect: 'value=http;end', name: 'X-Forwarded-SSL: Off yields url_scheme=http' },
  { location: 'basic', op: 'get', key: 'tsgi.url_scheme', headers: { 'X-Forwarded-HTTPS': 'false' }, expect: 'value=http;end', name: 'X-Forwarded-HTTPS: false yields url_scheme=http' },
  { location: 'basic', op: 'get', key: 'tsgi.url_scheme', headers: { 'X-Forwarded-HTTPS': '0' }, expect: 'value=http;end', name: 'X-Forwarded-HTTPS: 0 yields url_scheme=http' },
  { location: 'basic', op: 'get', key: 'SCRIPT_NAME', headers: { 'X-Script-Name': '/app' }, expect: 'value=/app;end', name: 'X-Script-Name rewrites SCRIPT_NAME' },
  { location: 'basic', op: 'get', key: 'tsgi_express.mount_point', headers: { 'X-Script-Name': '/app' }, expect: 'value=/app;end', name: 'X-Script-Name populates the mount_point key' },
  { location: 'basic', op: 'get', key: 'SCRIPT_NAME', headers: { 'X-Forwarded-Script-Name': '/other' }, expect: 'value=/other;end', name: 'X-Forwarded-Script-Name rewrites SCRIPT_NAME' },
  { location: 'basic', op: 'has', key: 'HTTP_X_CLIENT_IP', headers: { [XFF]: '203.0.113.5', 'X-Client-IP': '198.51.100.9' }, expect: 'present=NO;end', name: 'X-Client-IP in same category as trusted X-Forwarded-For is stripped' },
  { location: 'basic', op: 'has', key: 'HTTP_X_REAL_IP', headers: { [XFF]: '203.0.113.5', 'X-Real-IP': '198.51.100.9' }, expect: 'present=NO;end', name: 'X-Real-IP in same category as trusted X-Forwarded-For is stripped' },
  { location: 'basic', op: 'get', key: 'HTTP_X_FORWARDED_FOR', headers: { [XFF]: '203.0.113.5', 'X-Client-IP': '198.51.100.9', 'X-Real-IP': '203.0.113.9' }, expect: 'value=203.0.113.5;end', name: 'trusted X-Forwarded-For is kept while other category peers are stripped' },
  // 2. Trusted client: the loopback peer is in --trust-proxy.
  { location: 'trusted-client', op: 'get', key: 'REMOTE_ADDR', headers: { [XFF]: '203.0.113.5, 127.0.0.1' }, expect: 'value=203.0.113.5;end', name: 'chain walk picks the IP just before the first trusted proxy' },
  { location: 'trusted-client', op: 'get', key: 'HTTP_X_FORWARDED_FOR', headers: { [XFF]: '203.0.113.5, 127.0.0.1' }, expect: 'value=203.0.113.5, 127.0.0.1;end', name: 'HTTP_X_FORWARDED_FOR is rewritten to start at the selected REMOTE_ADDR' },
  { location: 'trusted-client', op: 'get', key: 'REMOTE_ADDR', headers: { [XFF]: '127.0.0.1, 127.0.0.1' }, expect: 'value=127.0.0.1;end', name: 'all-trusted chain leaves REMOTE_ADDR at the leftmost entry' },
  { location: 'trusted-client', op: 'get', key: 'REMOTE_ADDR', headers: { [XFF]: '198.51.100.9, 203.0.113.5' }, expect: 'value=203.0.113.5;end', name: 'a chain without trusted entries falls back to the rightmost IP' },
  { location: 'trusted-client', op: 'get', key: 'HTTP_HOST', headers: { 'X-Forwarded-Host': 'real.example.com' }, expect: 'value=real.example.com;end', name: 'X-Forwarded-Host rewrites HTTP_HOST when the peer is trusted' },
  { location: 'trusted-client', op: 'get', key: 'tsgi.url_scheme', headers: { 'X-Forwarded-Proto': 'https' }, expect: 'value=https;end', name: 'X-Forwarded-Proto rewrites url_scheme when the peer is trusted' },
  { location: 'trusted-client', op: 'get', key: 'SCRIPT_NAME', headers: { 'X-Script-Name': '/mounted' }, expect: 'value=/mounted;end', name: 'X-Script-Name rewrites SCRIPT_NAME when the peer is trusted' },
  { location: 'trusted-client', op: 'get', key: 'SERVER_NAME', headers: { 'X-Forwarded-Server': 'overridden.example.com' }, expect: 'value=overridden.example.com;end', name: 'X-Forwarded-Server rewrites SERVER_NAME when the peer is trusted' },
  { location: 'trusted-client', op: 'get', key: 'SERVER_PORT', headers: { 'X-Forwarded-Port': '8443' }, expect: 'value=8443;end', name: 'X-Forwarded-Port rewrites SERVER_PORT when the peer is trusted' },
  // 3. Untrusted client: the peer is not in --trust-proxy.
  { location: 'untrusted-client', op: 'get', key: 'REMOTE_ADDR', headers: { [XFF]: '203.0.113.5' }, expect: 'value=127.0.0.1;end', name: 'untrusted peer: REMOTE_ADDR is the connection IP' },
  { location: 'untrusted-client', op: 'has', key: 'HTTP_X_FORWARDED_FOR', headers: { [XFF]: '203.0.113.5' }, expect: 'present=NO;end', name: 'untrusted peer: spoofed X-Forwarded-For is stripped' },
  { location: 'untrusted-client', op: 'has', key: 'HTTPS', headers: { 'X-Forwarded-Proto': 'https' }, expect: 'present=NO;end', name: 'untrusted peer: X-Forwarded-Proto does not set HTTPS' },
  { location: 'untrusted-client', op: 'has', key: 'HTTP_X_FORWARDED_PROTO', headers: { 'X-Forwarded-Proto': 'https' }, expect: 'present=NO;end', name: 'untrusted peer: spoofed X-Forwarded-Proto is stripped' },
  { location: 'untrusted-client', op: 'get', key: 'HTTP_HOST', headers: { 'X-Forwarded-Host': 'spoof.example.com' }, expect: 'value={HOST};end', name: 'untrusted peer: HTTP_HOST is the real Host header' },
  { location: 'untrusted-client', op: 'has', key: 'HTTP_X_FORWARDED_HOST', headers: { 'X-Forwarded-Host': 'spoof.example.com' }, expect: 'present=NO;end', name: 'untrusted peer: spoofed X-Forwarded-Host is stripped' },
  { location: 'untrusted-client', op: 'get', key: 'SCRIPT_NAME', headers: { 'X-Script-Name': '/spoof' }, expect: `value=${MOUNT};end`, name: 'untrusted peer: SCRIPT_NAME is the mount point' },
  { location: 'untrusted-client', op: 'has', key: 'HTTP_X_SCRIPT_NAME', headers: { 'X-Script-Name': '/spoof' }, expect: 'present=NO;end', name: 'untrusted peer: spoofed X-Script-Name is stripped' },
  { location: 'untrusted-client', op: 'has', key: 'HTTP_X_FORWARDED_SERVER', headers: { 'X-Forwarded-Server': 'spoof.example.com' }, expect: 'present=NO;end', name: 'untrusted peer: spoofed X-Forwarded-Server is stripped' },
  { location: 'untrusted-client', op: 'has', key: 'HTTP_X_FORWARDED_PORT', headers: { 'X-Forwarded-Port': '31337' }, expect: 'present=NO;end', name: 'untrusted peer: spoofed X-Forwarded-Port is stripped' },
  // 4. Partial: only X-Forwarded-For is trusted.
  { location: 'partial', op: 'get', key: 'REMOTE_ADDR', headers: { [XFF]: '203.0.113.5' }, expect: 'value=203.0.113.5;end', name: 'partial: X-Forwarded-For still rewrites REMOTE_ADDR' },
  { location: 'partial', op: 'get', key: 'HTTP_HOST', headers: { 'X-Forwarded-Host': 'proxy.example.com' }, expect: 'value={HOST};end', name: 'partial: X-Forwarded-Host does not rewrite HTTP_HOST' },
  { location: 'partial', op: 'get', key: 'HTTP_X_FORWARDED_HOST', headers: { 'X-Forwarded-Host': 'proxy.example.com' }, expect: 'value=proxy.example.com;end', name: 'partial: X-Forwarded-Host still surfaces as HTTP_X_FORWARDED_HOST' },
  { location: 'partial', op: 'has', key: 'HTTPS', headers: { 'X-Forwarded-Proto': 'https' }, expect: 'present=NO;end', name: 'partial: X-Forwarded-Proto does not set HTTPS' },
  { location: 'partial', op: 'get', key: 'HTTP_X_FORWARDED_PROTO', headers: { 'X-Forwarded-Proto': 'https' }, expect: 'value=https;end', name: 'partial: X-Forwarded-Proto still surfaces as HTTP_X_FORWARDED_PROTO' },
  { location: 'partial', op: 'get', key: 'SCRIPT_NAME', headers: { 'X-Script-Name': '/app' }, expect: `value=${MOUNT};end`, name: 'partial: X-Script-Name does not rewrite SCRIPT_NAME' },
  { location: 'partial', op: 'get', key: 'HTTP_X_SCRIPT_NAME', headers: { 'X-Script-Name': '/app' }, expect: 'value=/app;end', name: 'partial: X-Script-Name still surfaces as HTTP_X_SCRIPT_NAME' },
  // 5. Empty list entries in X-Forwarded-For (RFC 9110 5.6.1).
  { location: 'trusted-client', op: 'get', key: 'REMOTE_ADDR', headers: { [XFF]: '203.0.113.5, , 127.0.0.1' }, expect: 'value=203.0.113.5;end', name: 'empty middle entry (with spaces) is ignored in the chain walk' },
  { location: 'trusted-client', op: 'get', key: 'REMOTE_ADDR', headers: { [XFF]: '203.0.113.5,,127.0.0.1' }, expect: 'value=203.0.113.5;end', name: 'empty middle entry (no whitespace) is ignored in the chain walk' },
  { location: 'trusted-client', op: 'get', key: 'REMOTE_ADDR', headers: { [XFF]: '203.0.113.5, 127.0.0.1,' }, expect: 'value=203.0.113.5;end', name: 'trailing comma is ignored in the chain walk' },
  { location: 'trusted-client', op: 'get', key: 'REMOTE_ADDR', headers: { [XFF]: ', 203.0.113.5, 127.0.0.1' }, expect: 'value=203.0.113.5;end', name: 'leading empty entry is ignored in the chain walk' },
  { location: 'trusted-client', op: 'get', key: 'REMOTE_ADDR', headers: { [XFF]: '203.0.113.5,  ,  , 127.0.0.1' }, expect: 'value=203.0.113.5;end', name: 'adjacent empty entries are ignored in the chain walk' },
  { location: 'basic', op: 'get', key: 'REMOTE_ADDR', headers: { [XFF]: ', 203.0.113.5' }, expect: 'value=203.0.113.5;end', name: 'leading empty entry is skipped, leftmost non-empty wins' },
  { location: 'basic', op: 'get', key: 'REMOTE_ADDR', headers: { [XFF]: ', , 203.0.113.5, 198.51.100.1' }, expect: 'value=203.0.113.5;end', name: 'several leading empty entries are skipped, leftmost non-empty wins' },
  { location: 'basic', op: 'get', key: 'REMOTE_ADDR', headers: { [XFF]: '203.0.113.5,' }, expect: 'value=203.0.113.5;end', name: 'trailing comma after a single entry is ignored (leftmost wins)' },
  // 6. Scheme precedence: a trusted scheme header against the connection's own TLS.
  { location: 'trusted-client', tls: true, op: 'get', key: 'tsgi.url_scheme', headers: { 'X-Forwarded-Proto': 'http' }, expect: 'value=http;end', name: 'trusted X-Forwarded-Proto: http over TLS keeps url_scheme http' },
  { location: 'trusted-client', tls: true, op: 'get', key: 'tsgi.url_scheme', headers: { 'X-Forwarded-Proto': 'https' }, expect: 'value=https;end', name: 'trusted X-Forwarded-Proto: https over TLS keeps url_scheme https' },
  { location: 'trusted-client', tls: true, op: 'get', key: 'tsgi.url_scheme', expect: 'value=https;end', name: 'no scheme header over TLS: the connection decides (https)' },
  { location: 'trusted-client', tls: true, op: 'get', key: 'tsgi.url_scheme', headers: { 'X-Forwarded-SSL': 'Off' }, expect: 'value=http;end', name: 'trusted X-Forwarded-SSL: Off over TLS unsets HTTPS' },
  { location: 'partial', tls: true, op: 'get', key: 'tsgi.url_scheme', headers: { 'X-Forwarded-Proto': 'http' }, expect: 'value=https;end', name: 'partial, no scheme header trusted: X-Forwarded-Proto is ignored and TLS wins' },
];

async function stop(server: RunningServer | undefined): Promise<void> {
  if (server === undefined) return;
  server.signal('SIGTERM');
  await server.exited();
}

async function get(server: RunningServer, path: string, headers: Record<string, string> = {}) {
  const res = await request(`http://127.0.0.1:${server.port}${path}`, { headers });
  return { status: res.statusCode, body: await res.body.text() };
}

async function getOverTls(server: RunningServer, path: string, headers: Record<string, string> = {}) {
  const preamble = proxyV2({ src: '127.0.0.1', dst: '127.0.0.1', sport: 40000, dport: server.port, tls: true });
  const { raw } = await exchange(server.port, [preamble, getRequest(path, headers, `127.0.0.1:${server.port}`)]);
  const res = parseResponse(raw);
  return { status: res.status, body: res.body };
}

it('the table has the 56 rows of mod_wsgi\'s proxy_headers.sh', () => {
  assert.equal(ROWS.length, 56);
});

for (const iface of ['tsgi', 'fetch', 'node'] as const) {
  describe(`mod_wsgi's proxy-header cases, ${iface} app`, { timeout: 120_000 }, () => {
    const servers = new Map<string, RunningServer>();
    before(async () => {
      const locations: [string, readonly string[]][] = Object.entries(LOCATIONS);
      // The TLS rows read tsgi.url_scheme, which every interface's environ has; once is enough.
      if (iface === 'tsgi') locations.push(...Object.entries(TLS_LOCATIONS).map(([k, v]): [string, readonly string[]] => [`tls:${k}`, v]));
      await Promise.all(locations.map(async ([name, flags]) => {
        servers.set(name, await startServer([fixture('proxy-echo.ts'), '--interface', iface, '--mount-point', MOUNT, ...flags]));
      }));
    });
    after(() => Promise.all([...servers.values()].map(stop)));

    for (const row of ROWS) {
      if (row.tls && iface !== 'tsgi') continue;
      it(`${row.location}${row.tls ? ' (TLS)' : ''}: ${row.name}`, async () => {
        const server = servers.get(row.tls ? `tls:${row.location}` : row.location)!;
        const path = `${MOUNT}/${row.location}/${row.op}?key=${encodeURIComponent(row.key)}`;
        const res = row.tls ? await getOverTls(server, path, row.headers) : await get(server, path, row.headers);
        assert.equal(res.status, 200);
        assert.equal(res.body, row.expect.replace('{HOST}', `127.0.0.1:${server.port}`));
      });
    }
  });
}

describe('RFC 7239 Forwarded as a trusted header', { timeout: 60_000 }, () => {
  let trusted: RunningServer;
  let untrusted: RunningServer;
  before(async () => {
    [trusted, untrusted] = await Promise.all([
      startServer([fixture('proxy-echo.ts'), '--trust-proxy-header', 'Forwarded', '--trust-proxy', '127.0.0.1']),
      startServer([fixture('proxy-echo.ts'), '--trust-proxy-header', 'forwarded', '--trust-proxy', '10.99.99.99']),
    ]);
  });
  const chain = { Forwarded: 'for=203.0.113.5;proto=https;host=pub.example, for=127.0.0.1;proto=http' };

  it('the client\'s own hop gives REMOTE_ADDR, the scheme and HTTP_HOST', async () => {
    assert.equal((await get(trusted, '/get?key=REMOTE_ADDR', chain)).body, 'value=203.0.113.5;end');
    assert.equal((await get(trusted, '/get?key=tsgi.url_scheme', chain)).body, 'value=https;end');
    assert.equal((await get(trusted, '/get?key=HTTP_HOST', chain)).body, 'value=pub.example;end');
    assert.equal((await get(trusted, '/get?key=HTTP_FORWARDED', chain)).body, `value=${chain.Forwarded};end`);
  });

  it('reads quoted IPv6 nodes with ports, and cuts the list at the client like X-Forwarded-For', async () => {
    const headers = { Forwarded: 'for=198.51.100.1, for="[2001:db8::9]:4711", For=127.0.0.1' };
    assert.equal((await get(trusted, '/get?key=REMOTE_ADDR', headers)).body, 'value=2001:db8::9;end');
    assert.equal((await get(trusted, '/get?key=HTTP_FORWARDED', headers)).body, 'value=for="[2001:db8::9]:4711", For=127.0.0.1;end');
  });

  it('puts the client, host and scheme categories under guard: X-Forwarded-For, X-Forwarded-Host and X-Forwarded-Proto are removed', async () => {
    const headers = { ...chain, 'X-Forwarded-For': '198.51.100.2', 'X-Forwarded-Host': 'x.example', 'X-Forwarded-Proto': 'http', 'X-Forwarded-Port': '1' };
    for (const key of ['HTTP_X_FORWARDED_FOR', 'HTTP_X_FORWARDED_HOST', 'HTTP_X_FORWARDED_PROTO']) {
      assert.equal((await get(trusted, `/has?key=${key}`, headers)).body, 'present=NO;end', key);
    }
    assert.equal((await get(trusted, '/get?key=HTTP_X_FORWARDED_PORT', headers)).body, 'value=1;end', 'other categories are left alone');
  });

  it('from an untrusted peer it is removed and nothing changes', async () => {
    assert.equal((await get(untrusted, '/has?key=HTTP_FORWARDED', chain)).body, 'present=NO;end');
    assert.equal((await get(untrusted, '/get?key=REMOTE_ADDR', chain)).body, 'value=127.0.0.1;end');
    assert.equal((await get(untrusted, '/get?key=tsgi.url_scheme', chain)).body, 'value=http;end');
  });

  it('a forwarded host that is not host[:port] gets 400', async () => {
    const res = await get(trusted, '/get?key=HTTP_HOST', { Forwarded: 'for=203.0.113.5;host="a/b"' });
    assert.equal(res.status, 400);
  });
});
